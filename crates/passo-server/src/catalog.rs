//! State machines, versions and aliases, held in memory (they are few and read on every
//! start) and written through to the store; and the parsed definitions, parsed once per
//! revision.
//!
//! When several nodes share the database, another node's changes reach this one's copy by
//! a reload every second, and at once for a machine, version or alias this node has not
//! seen (so a machine created through one node can be started through another right
//! away). Like AWS, an update may take a moment to reach every start.

use crate::arn::{self, Resource};
use crate::error::ApiError;
use crate::runtime::Definition;
use passo_asl::{MachineType, StateMachine};
use passo_store::{AliasRow, Db, MachineRow, VersionRow};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// What StartExecution runs: a machine's revision, reached directly or through a version
/// or alias.
#[derive(Clone)]
pub struct Target {
    pub machine: Arc<StateMachine>,
    pub machine_arn: String,
    pub machine_name: String,
    pub revision_id: String,
    pub role_arn: String,
    pub kind: String,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
}

#[derive(Default)]
struct Data {
    machines: HashMap<String, MachineRow>,
    versions: HashMap<String, VersionRow>,
    aliases: HashMap<String, AliasRow>,
}

pub struct Catalog {
    data: RwLock<Data>,
    /// Set when other nodes may change the store: misses read it again.
    shared: Option<Db>,
    parsed: Mutex<HashMap<(String, String), Definition>>,
    /// Serialises changes to machines, versions and aliases (version numbers, name checks).
    pub changes: tokio::sync::Mutex<()>,
    /// The highest version number each machine has had (numbers are not reused).
    max_versions: Mutex<HashMap<String, i64>>,
}

pub fn machine_type(kind: &str) -> MachineType {
    if kind == "EXPRESS" {
        MachineType::Express
    } else {
        MachineType::Standard
    }
}

impl Catalog {
    pub fn load(db: &Db) -> Result<Catalog, ApiError> {
        let (d, max_versions) = read_all(db)?;
        Ok(Catalog {
            data: RwLock::new(d),
            shared: db.shared().map(|_| db.clone()),
            parsed: Mutex::new(HashMap::new()),
            changes: tokio::sync::Mutex::new(()),
            max_versions: Mutex::new(max_versions),
        })
    }

    /// Reads the store again (other nodes' changes); a no-op unless it is shared.
    pub fn refresh(&self) -> Result<(), ApiError> {
        let Some(db) = &self.shared else {
            return Ok(());
        };
        let (d, max_versions) = read_all(db)?;
        *self.data.write().unwrap() = d;
        let mut known = self.max_versions.lock().unwrap();
        for (m, n) in max_versions {
            let e = known.entry(m).or_default();
            *e = (*e).max(n);
        }
        Ok(())
    }

    /// Looks `arn` up, reading the store again on a miss when it is shared.
    fn look<T>(&self, find: impl Fn(&Data) -> Option<T>) -> Option<T> {
        let found = find(&self.data.read().unwrap());
        if found.is_some() || self.shared.is_none() {
            return found;
        }
        if let Err(e) = self.refresh() {
            tracing::warn!("reading the catalog again: {e}");
        }
        find(&self.data.read().unwrap())
    }

    pub fn machine(&self, arn: &str) -> Option<MachineRow> {
        self.look(|d| d.machines.get(arn).cloned())
    }

    /// Every machine, oldest first.
    pub fn machines(&self) -> Vec<MachineRow> {
        let d = self.data.read().unwrap();
        let mut v: Vec<MachineRow> = d.machines.values().cloned().collect();
        v.sort_by(|a, b| (a.created_ms, &a.arn).cmp(&(b.created_ms, &b.arn)));
        v
    }

    pub fn put_machine(&self, m: MachineRow) {
        self.data.write().unwrap().machines.insert(m.arn.clone(), m);
    }

    pub fn remove_machine(&self, arn: &str) {
        let mut d = self.data.write().unwrap();
        d.machines.remove(arn);
        d.versions.retain(|_, v| v.machine_arn != arn);
        d.aliases.retain(|_, a| a.machine_arn != arn);
    }

    pub fn max_version(&self, machine_arn: &str) -> i64 {
        self.max_versions
            .lock()
            .unwrap()
            .get(machine_arn)
            .copied()
            .unwrap_or(0)
    }

    pub fn note_version(&self, machine_arn: &str, n: i64) {
        let mut g = self.max_versions.lock().unwrap();
        let e = g.entry(machine_arn.to_string()).or_default();
        *e = (*e).max(n);
    }

    pub fn version(&self, arn: &str) -> Option<VersionRow> {
        self.look(|d| d.versions.get(arn).cloned())
    }

    /// A machine's versions, newest first.
    pub fn versions_of(&self, machine_arn: &str) -> Vec<VersionRow> {
        let d = self.data.read().unwrap();
        let mut v: Vec<VersionRow> = d
            .versions
            .values()
            .filter(|v| v.machine_arn == machine_arn)
            .cloned()
            .collect();
        v.sort_by_key(|v| std::cmp::Reverse(v.version));
        v
    }

    pub fn put_version(&self, v: VersionRow) {
        self.data.write().unwrap().versions.insert(v.arn.clone(), v);
    }

    pub fn remove_version(&self, arn: &str) {
        self.data.write().unwrap().versions.remove(arn);
    }

    pub fn alias(&self, arn: &str) -> Option<AliasRow> {
        self.look(|d| d.aliases.get(arn).cloned())
    }

    /// A machine's aliases, oldest first.
    pub fn aliases_of(&self, machine_arn: &str) -> Vec<AliasRow> {
        let d = self.data.read().unwrap();
        let mut v: Vec<AliasRow> = d
            .aliases
            .values()
            .filter(|a| a.machine_arn == machine_arn)
            .cloned()
            .collect();
        v.sort_by(|a, b| (a.created_ms, &a.arn).cmp(&(b.created_ms, &b.arn)));
        v
    }

    pub fn put_alias(&self, a: AliasRow) {
        self.data.write().unwrap().aliases.insert(a.arn.clone(), a);
    }

    pub fn remove_alias(&self, arn: &str) {
        self.data.write().unwrap().aliases.remove(arn);
    }

    /// The parsed definition of a machine's revision (parsed once, then shared).
    pub fn definition(
        &self,
        db: &Db,
        machine_arn: &str,
        revision_id: &str,
    ) -> Result<Definition, ApiError> {
        let key = (machine_arn.to_string(), revision_id.to_string());
        if let Some(d) = self.parsed.lock().unwrap().get(&key) {
            return Ok(d.clone());
        }
        let (text, role, kind) = match self.machine(machine_arn) {
            Some(m) if m.revision_id == revision_id => (m.definition, m.role_arn, m.kind),
            _ => match db.revision(machine_arn, revision_id)? {
                Some(r) => (r.definition, r.role_arn, r.kind),
                None => return Err(ApiError::machine_missing(machine_arn)),
            },
        };
        let value =
            passo_asl::parse_text(&text).map_err(|d| ApiError::InvalidDefinition(d.to_string()))?;
        let machine = passo_asl::parse_for(&value, machine_type(&kind))
            .map_err(|d| ApiError::InvalidDefinition(passo_asl::invalid_definition_message(&d)))?;
        let d: Definition = (Arc::new(machine), role);
        self.parsed.lock().unwrap().insert(key, d.clone());
        Ok(d)
    }

    /// Resolves a machine, version or alias ARN to what an execution runs; `pick` (0..100)
    /// chooses among an alias's weighted versions.
    pub fn target(&self, db: &Db, target_arn: &str, pick: u64) -> Result<Target, ApiError> {
        let (machine_arn, revision_id, version_arn, alias_arn) = match arn::parse(target_arn)? {
            Resource::Machine { .. } => {
                let m = self
                    .machine(target_arn)
                    .ok_or_else(|| ApiError::machine_missing(target_arn))?;
                (m.arn, m.revision_id, None, None)
            }
            Resource::Version { .. } => {
                let v = self
                    .version(target_arn)
                    .ok_or_else(|| ApiError::machine_missing(target_arn))?;
                (v.machine_arn, v.revision_id, Some(v.arn), None)
            }
            Resource::Alias { .. } => {
                let a = self
                    .alias(target_arn)
                    .ok_or_else(|| ApiError::machine_missing(target_arn))?;
                let v = route(&a.routing, pick)
                    .and_then(|arn| self.version(&arn))
                    .ok_or_else(|| ApiError::machine_missing(target_arn))?;
                (v.machine_arn, v.revision_id, Some(v.arn), Some(a.arn))
            }
            other => return Err(arn::wrong_kind(&other)),
        };
        let m = self
            .machine(&machine_arn)
            .ok_or_else(|| ApiError::machine_missing(target_arn))?;
        let (machine, role_arn) = self.definition(db, &machine_arn, &revision_id)?;
        Ok(Target {
            machine,
            machine_name: m.name.clone(),
            machine_arn,
            revision_id,
            role_arn,
            kind: m.kind,
            version_arn,
            alias_arn,
        })
    }
}

/// Every machine, version and alias in the store, and each machine's highest version.
fn read_all(db: &Db) -> Result<(Data, HashMap<String, i64>), ApiError> {
    let mut d = Data::default();
    let mut max_versions: HashMap<String, i64> = HashMap::new();
    for m in db.machines()? {
        d.machines.insert(m.arn.clone(), m);
    }
    for v in db.all_versions()? {
        let n = max_versions.entry(v.machine_arn.clone()).or_default();
        *n = (*n).max(v.version);
        d.versions.insert(v.arn.clone(), v);
    }
    for a in db.all_aliases()? {
        d.aliases.insert(a.arn.clone(), a);
    }
    Ok((d, max_versions))
}

/// Picks a version from an alias's routing configuration: `pick` in 0..100 falls in one
/// version's share of the weights.
pub fn route(routing: &str, pick: u64) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(routing).ok()?;
    let items = v.as_array()?;
    let mut acc = 0;
    for it in items {
        acc += it.get("weight")?.as_u64()?;
        if pick < acc {
            return Some(it.get("stateMachineVersionArn")?.as_str()?.to_string());
        }
    }
    items
        .last()
        .and_then(|it| it.get("stateMachineVersionArn")?.as_str().map(String::from))
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn weighted_routing_splits_by_weight() {
        let r = r#"[{"stateMachineVersionArn":"v1","weight":70},{"stateMachineVersionArn":"v2","weight":30}]"#;
        let v1 = (0..100)
            .filter(|p| route(r, *p).as_deref() == Some("v1"))
            .count();
        assert_eq!(v1, 70);
        assert_eq!(route(r, 99).as_deref(), Some("v2"));
    }
}
