//! What only SQLite has to show: its numbered migrations.

use passo_store::{Db, DbOptions, StoreError};

#[tokio::test]
async fn a_database_of_an_older_passo_is_migrated_and_a_newer_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    {
        // Steps as Passo wrote them before they kept their events' ids.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE steps (
               execution_arn TEXT NOT NULL, seq INTEGER NOT NULL, now_ms INTEGER NOT NULL,
               event TEXT NOT NULL, history TEXT NOT NULL, PRIMARY KEY (execution_arn, seq))
               WITHOUT ROWID;
             INSERT INTO steps VALUES ('e', 0, 1, '{}', '[{\"id\":1}]');",
        )
        .unwrap();
    }
    let db = Db::open(&path, DbOptions::default()).unwrap();
    let steps = db.steps("e").unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!((steps[0].first_event, steps[0].last_event), (None, None));
    // A page of any events still finds the old step, which does not say what it holds.
    assert_eq!(db.history_steps("e", 5, 6).unwrap().len(), 1);
    assert!(db.snapshot("e").unwrap().is_none());
    db.close();
    drop(db);
    // Opened again: nothing applied twice.
    let db = Db::open(&path, DbOptions::default()).unwrap();
    assert_eq!(db.steps("e").unwrap().len(), 1);
    db.close();
    drop(db);
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    match Db::open(&path, DbOptions::default()) {
        Err(StoreError::SchemaTooNew { found: 99, known }) => assert!(known < 99),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a database of schema 99 was opened"),
    }
}
