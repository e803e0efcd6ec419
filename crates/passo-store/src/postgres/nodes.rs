//! The nodes of a shared database (`nodes`: where each is reached) and the settings they
//! share (`cluster_settings`): what lets a node find the holder of Passo's queues and
//! topics, and call it with a secret only the cluster's nodes know.

use super::read::{p, text};
use super::Postgres;
use crate::rows::NodeRow;
use crate::Result;

/// The key of the cluster secret in `cluster_settings`.
const SECRET: &str = "secret";

impl Postgres {
    pub(super) fn put_node(&self, node: &NodeRow) -> Result<()> {
        self.one(
            "INSERT INTO nodes (id, url, seen_ms) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, seen_ms = EXCLUDED.seen_ms
             RETURNING id",
            vec![text(&node.id), text(&node.url), p(node.seen_ms)],
            |_| (),
        )?;
        Ok(())
    }

    pub(super) fn node(&self, id: &str) -> Result<Option<NodeRow>> {
        self.one(
            "SELECT id, url, seen_ms FROM nodes WHERE id = $1",
            vec![text(id)],
            |r| NodeRow {
                id: r.get(0),
                url: r.get(1),
                seen_ms: r.get(2),
            },
        )
    }

    pub(super) fn cluster_secret(&self, candidate: &str) -> Result<String> {
        // The insert's row (when this call sets it) or the row kept. When another node's
        // insert commits between this statement's snapshot and its own insert, neither
        // shows: ask again, and the next snapshot has it.
        for _ in 0..3 {
            let kept = self.one(
                "WITH ins AS (INSERT INTO cluster_settings (name, value) VALUES ($1, $2)
                   ON CONFLICT (name) DO NOTHING RETURNING value)
                 SELECT value FROM ins
                 UNION ALL SELECT value FROM cluster_settings WHERE name = $1
                 LIMIT 1",
                vec![text(SECRET), text(candidate)],
                |r| r.get::<_, String>(0),
            )?;
            if let Some(secret) = kept {
                return Ok(secret);
            }
        }
        Err(crate::StoreError::Unavailable(
            "the cluster secret could not be read".into(),
        ))
    }
}
