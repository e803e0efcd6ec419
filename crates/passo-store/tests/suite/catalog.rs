//! Machines with their revisions, versions and aliases; tags; activities; functions.

use crate::Fixture;
use passo_store::*;

fn machine(arn: &str, created_ms: i64, revision: &str) -> MachineRow {
    MachineRow {
        arn: arn.into(),
        name: arn.rsplit(':').next().unwrap().into(),
        kind: "STANDARD".into(),
        definition: "{\"StartAt\":\"P\"}".into(),
        role_arn: "arn:aws:iam::1:role/r".into(),
        revision_id: revision.into(),
        description: String::new(),
        created_ms,
        logging: "{}".into(),
        tracing: "{\"enabled\":false}".into(),
        encryption: "{}".into(),
    }
}

fn version(m: &str, n: i64) -> VersionRow {
    VersionRow {
        arn: format!("{m}:{n}"),
        machine_arn: m.into(),
        version: n,
        revision_id: format!("r{n}"),
        description: format!("v{n}"),
        created_ms: n,
    }
}

pub async fn machines_revisions_versions_and_aliases(f: &mut Fixture) {
    let (a, b) = ("arn:sm:b-first", "arn:sm:a-second");
    f.db.write(vec![
        Write::PutMachine(machine(a, 1, "r1")),
        Write::PutMachine(machine(b, 2, "r1")),
        Write::PutRevision(RevisionRow {
            machine_arn: a.into(),
            revision_id: "r1".into(),
            definition: "d1".into(),
            role_arn: "role".into(),
            kind: "STANDARD".into(),
        }),
    ])
    .await
    .unwrap();
    // Oldest first, whatever the names.
    let names: Vec<String> =
        f.db.machines()
            .unwrap()
            .into_iter()
            .map(|m| m.arn)
            .collect();
    assert_eq!(names, [a, b]);
    // An update replaces the row.
    let mut updated = machine(a, 1, "r2");
    updated.description = "new".into();
    f.db.write(vec![Write::PutMachine(updated.clone())])
        .await
        .unwrap();
    assert_eq!(f.db.machine(a).unwrap(), Some(updated));
    assert_eq!(f.db.machine("arn:sm:none").unwrap(), None);
    let rev = f.db.revision(a, "r1").unwrap().unwrap();
    assert_eq!(
        (rev.definition.as_str(), rev.kind.as_str()),
        ("d1", "STANDARD")
    );
    assert!(f.db.revision(a, "r9").unwrap().is_none());

    f.db.write(vec![
        Write::PutVersion(version(a, 1)),
        Write::PutVersion(version(a, 2)),
        Write::PutVersion(version(b, 1)),
    ])
    .await
    .unwrap();
    let numbers: Vec<i64> =
        f.db.versions(a)
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect();
    assert_eq!(numbers, [2, 1], "newest first");
    assert_eq!(f.db.all_versions().unwrap().len(), 3);
    let again = f.db.write(vec![Write::PutVersion(version(a, 2))]).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    f.db.write(vec![Write::DeleteVersion(format!("{a}:1"))])
        .await
        .unwrap();
    assert_eq!(f.db.versions(a).unwrap(), vec![version(a, 2)]);

    let alias = |name: &str, created_ms, routing: &str| AliasRow {
        arn: format!("{a}:{name}"),
        machine_arn: a.into(),
        name: name.into(),
        description: String::new(),
        routing: routing.into(),
        created_ms,
        updated_ms: created_ms,
    };
    f.db.write(vec![
        Write::PutAlias(alias("prod", 5, "[1]")),
        Write::PutAlias(alias("beta", 6, "[1]")),
    ])
    .await
    .unwrap();
    let mut moved = alias("prod", 5, "[2]");
    moved.updated_ms = 9;
    f.db.write(vec![Write::PutAlias(moved.clone())])
        .await
        .unwrap();
    assert_eq!(
        f.db.all_aliases().unwrap(),
        vec![moved, alias("beta", 6, "[1]")]
    );
    f.db.write(vec![Write::DeleteAlias(format!("{a}:beta"))])
        .await
        .unwrap();
    assert_eq!(f.db.all_aliases().unwrap().len(), 1);

    // Deleting a machine takes its versions, aliases and tags; revisions stay for the
    // executions that still run them.
    f.db.write(vec![Write::PutTags(
        a.into(),
        vec![("k".into(), "v".into())],
    )])
    .await
    .unwrap();
    f.db.write(vec![Write::DeleteMachine(a.into())])
        .await
        .unwrap();
    assert!(f.db.machine(a).unwrap().is_none());
    assert!(f.db.versions(a).unwrap().is_empty());
    assert!(f.db.all_aliases().unwrap().is_empty());
    assert!(f.db.tags(a).unwrap().is_empty());
    assert!(f.db.revision(a, "r1").unwrap().is_some());
    assert_eq!(f.db.versions(b).unwrap().len(), 1);
}

pub async fn tags_keep_the_order_they_were_set_in(f: &mut Fixture) {
    let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
    f.db.write(vec![Write::PutTags(
        "arn:x".into(),
        vec![kv("zeta", "1"), kv("alpha", "2"), kv("mid", "3")],
    )])
    .await
    .unwrap();
    assert_eq!(
        f.db.tags("arn:x").unwrap(),
        vec![kv("zeta", "1"), kv("alpha", "2"), kv("mid", "3")]
    );
    // Setting a tag again changes its value and moves it last.
    f.db.write(vec![
        Write::PutTags("arn:x".into(), vec![kv("zeta", "9")]),
        Write::RemoveTags("arn:x".into(), vec!["mid".into(), "absent".into()]),
    ])
    .await
    .unwrap();
    assert_eq!(
        f.db.tags("arn:x").unwrap(),
        vec![kv("alpha", "2"), kv("zeta", "9")]
    );
    assert!(f.db.tags("arn:y").unwrap().is_empty());
}

pub async fn activities_and_functions(f: &mut Fixture) {
    let act = |arn: &str, created_ms| ActivityRow {
        arn: arn.into(),
        name: arn.rsplit(':').next().unwrap().into(),
        created_ms,
    };
    f.db.write(vec![
        Write::PutActivity(act("arn:act:b", 1)),
        Write::PutActivity(act("arn:act:a", 2)),
        Write::PutTags("arn:act:b".into(), vec![("k".into(), "v".into())]),
    ])
    .await
    .unwrap();
    // Creating one that exists changes nothing (CreateActivity is idempotent).
    f.db.write(vec![Write::PutActivity(act("arn:act:b", 50))])
        .await
        .unwrap();
    assert_eq!(
        f.db.activity("arn:act:b").unwrap(),
        Some(act("arn:act:b", 1))
    );
    assert_eq!(
        f.db.activities().unwrap(),
        vec![act("arn:act:b", 1), act("arn:act:a", 2)]
    );
    f.db.write(vec![Write::DeleteActivity("arn:act:b".into())])
        .await
        .unwrap();
    assert!(f.db.activity("arn:act:b").unwrap().is_none());
    assert!(f.db.tags("arn:act:b").unwrap().is_empty());

    let func = |name: &str, spec: &str, created_ms| FunctionRow {
        name: name.into(),
        spec: spec.into(),
        created_ms,
    };
    f.db.write(vec![
        Write::PutFunction(func("second", "{}", 2)),
        Write::PutFunction(func("first", "{}", 1)),
    ])
    .await
    .unwrap();
    f.db.write(vec![Write::PutFunction(func("second", "{\"x\":1}", 2))])
        .await
        .unwrap();
    assert_eq!(
        f.db.functions().unwrap(),
        vec![func("first", "{}", 1), func("second", "{\"x\":1}", 2)]
    );
    f.db.write(vec![Write::DeleteFunction("first".into())])
        .await
        .unwrap();
    assert_eq!(f.db.functions().unwrap().len(), 1);
}
