//! The event bus: EventBridge's buses, rules and targets in `passo server`, and the
//! durable delivery of matched events to state machines, queues and topics.
//!
//! - [`api`] and [`api_rules`] answer `X-Amz-Target: AWSEvents.*` (the AWS JSON 1.1
//!   protocol); [`events`] validates PutEvents entries and builds events;
//! - [`targets`] and [`transform`] hold what a target is given (Input, InputPath,
//!   InputTransformer), its RetryPolicy and DeadLetterConfig;
//! - [`delivery`]: every (event, target) that matched is committed as a delivery row before
//!   PutEvents answers, then handed to its target and forgotten; rows left by a crash are
//!   delivered at the next start. The execution's name is fixed by the event and target, so
//!   a delivery made twice finds the execution the first one started;
//! - [`status`]: every Standard execution's status change as an `aws.states` event on the
//!   default bus, committed with the step that made it;
//! - [`local`]: the bus as the `EventBridge` service of `aws-sdk:eventbridge:putEvents`
//!   Tasks when no endpoint is configured;
//! - [`local_targets`]: Passo's own SQS queues and SNS topics as targets, and SQS queues as
//!   dead-letter queues.
//!
//! The registry below is the store's rows in memory (buses, rules with their parsed patterns,
//! targets), changed only after the store committed the change, one change at a time.

pub mod api;
pub mod api_rules;
pub mod bucket_events;
pub mod delivery;
pub mod error;
pub mod events;
pub mod local;
pub mod local_targets;
pub mod names;
pub mod status;
pub mod targets;
pub mod transform;

use crate::arn::Realm;
use delivery::Received;
use error::EventsError;
use names::DEFAULT_BUS;
use passo_events::Pattern;
use passo_store::{Db, DeliveryRow, EventBusRow, RuleRow};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;
use targets::Target;

/// A rule in memory: its row, its parsed pattern, its targets by id.
#[derive(Debug, Clone)]
pub struct Rule {
    pub row: RuleRow,
    pub pattern: Option<Pattern>,
    pub targets: BTreeMap<String, Target>,
}

#[derive(Default)]
struct State {
    buses: BTreeMap<String, EventBusRow>,
    /// By (bus, rule name).
    rules: BTreeMap<(String, String), Rule>,
}

/// The buses, rules and targets of this server.
pub struct Bus {
    pub realm: Realm,
    state: RwLock<State>,
    /// One change at a time: the store's commit and the registry's update go together.
    pub changes: tokio::sync::Mutex<()>,
    /// Enabled rules with a pattern on the default bus. While there are none, no execution
    /// status event could match, and none is built.
    default_rules: AtomicUsize,
}

impl Bus {
    /// The registry as the store holds it (the default bus is always there).
    pub fn load(db: &Db, realm: &Realm, now_ms: i64) -> Result<Bus, EventsError> {
        let mut state = State::default();
        state.buses.insert(
            DEFAULT_BUS.into(),
            EventBusRow {
                name: DEFAULT_BUS.into(),
                arn: names::bus_arn(realm, DEFAULT_BUS),
                description: None,
                created_ms: now_ms,
            },
        );
        for b in db.event_buses()? {
            state.buses.insert(b.name.clone(), b);
        }
        for r in db.rules()? {
            // A pattern was checked when the rule was put; one the matcher refuses now (a
            // stricter release) leaves the rule matching nothing rather than the server down.
            let pattern = r
                .event_pattern
                .as_deref()
                .and_then(|p| match Pattern::parse(p) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::warn!("rule {}: its pattern no longer parses: {e}", r.arn);
                        None
                    }
                });
            let key = (r.bus.clone(), r.name.clone());
            state.rules.insert(
                key,
                Rule {
                    row: r,
                    pattern,
                    targets: BTreeMap::new(),
                },
            );
        }
        for t in db.rule_targets()? {
            let Some(rule) = state.rules.get_mut(&(t.bus.clone(), t.rule.clone())) else {
                continue;
            };
            match serde_json::from_str::<Value>(&t.spec)
                .ok()
                .and_then(|v| Target::parse(&v).ok())
            {
                Some(target) => {
                    rule.targets.insert(t.id, target);
                }
                None => tracing::warn!("rule {}: target {} no longer parses", rule.row.arn, t.id),
            }
        }
        let bus = Bus {
            realm: realm.clone(),
            state: RwLock::new(state),
            changes: tokio::sync::Mutex::new(()),
            default_rules: AtomicUsize::new(0),
        };
        bus.recount();
        Ok(bus)
    }

    /// Reads the registry again (rules and targets other nodes sharing the database put).
    pub fn reload(&self, db: &Db, now_ms: i64) -> Result<(), EventsError> {
        let mut fresh = Bus::load(db, &self.realm, now_ms)?
            .state
            .into_inner()
            .unwrap();
        let mut state = self.state.write().unwrap();
        // The default bus has no row: keep the one this node made (its creation time).
        if let Some(default) = state.buses.get(DEFAULT_BUS) {
            fresh.buses.insert(DEFAULT_BUS.into(), default.clone());
        }
        *state = fresh;
        drop(state);
        self.recount();
        Ok(())
    }

    fn recount(&self) {
        let n = self
            .state
            .read()
            .unwrap()
            .rules
            .values()
            .filter(|r| {
                r.row.bus == DEFAULT_BUS && r.row.state != "DISABLED" && r.pattern.is_some()
            })
            .count();
        self.default_rules.store(n, Ordering::Relaxed);
    }

    /// Whether an event on the default bus could match any rule (a load, nothing more).
    pub fn default_bus_has_rules(&self) -> bool {
        self.default_rules.load(Ordering::Relaxed) > 0
    }

    pub fn bus(&self, name: &str) -> Option<EventBusRow> {
        self.state.read().unwrap().buses.get(name).cloned()
    }

    pub fn buses(&self) -> Vec<EventBusRow> {
        self.state.read().unwrap().buses.values().cloned().collect()
    }

    pub fn put_bus(&self, row: EventBusRow) {
        self.state
            .write()
            .unwrap()
            .buses
            .insert(row.name.clone(), row);
    }

    pub fn remove_bus(&self, name: &str) {
        let mut s = self.state.write().unwrap();
        s.buses.remove(name);
        s.rules.retain(|(bus, _), _| bus != name);
        drop(s);
        self.recount();
    }

    pub fn rule(&self, bus: &str, name: &str) -> Option<Rule> {
        self.state
            .read()
            .unwrap()
            .rules
            .get(&(bus.to_string(), name.to_string()))
            .cloned()
    }

    /// The rules of a bus, by name.
    pub fn rules(&self, bus: &str) -> Vec<Rule> {
        self.state
            .read()
            .unwrap()
            .rules
            .values()
            .filter(|r| r.row.bus == bus)
            .cloned()
            .collect()
    }

    /// Puts a rule (a new one, or new settings for one that keeps its targets).
    pub fn put_rule(&self, row: RuleRow, pattern: Option<Pattern>) {
        let mut s = self.state.write().unwrap();
        let key = (row.bus.clone(), row.name.clone());
        let targets = s.rules.remove(&key).map(|r| r.targets).unwrap_or_default();
        s.rules.insert(
            key,
            Rule {
                row,
                pattern,
                targets,
            },
        );
        drop(s);
        self.recount();
    }

    pub fn remove_rule(&self, bus: &str, name: &str) {
        self.state
            .write()
            .unwrap()
            .rules
            .remove(&(bus.to_string(), name.to_string()));
        self.recount();
    }

    pub fn put_target(&self, bus: &str, rule: &str, target: Target) {
        if let Some(r) = self
            .state
            .write()
            .unwrap()
            .rules
            .get_mut(&(bus.to_string(), rule.to_string()))
        {
            r.targets.insert(target.id.clone(), target);
        }
    }

    pub fn remove_target(&self, bus: &str, rule: &str, id: &str) {
        if let Some(r) = self
            .state
            .write()
            .unwrap()
            .rules
            .get_mut(&(bus.to_string(), rule.to_string()))
        {
            r.targets.remove(id);
        }
    }

    /// The deliveries `event` makes on `bus`: one per target of every enabled rule whose
    /// pattern matches.
    pub fn deliveries(&self, bus: &str, event: &Value, at: Received) -> Vec<DeliveryRow> {
        let s = self.state.read().unwrap();
        let id = event["id"].as_str().unwrap_or_default();
        let mut text: Option<String> = None;
        let mut out = Vec::new();
        for rule in s.rules.values().filter(|r| r.row.bus == bus) {
            if rule.row.state == "DISABLED" || rule.targets.is_empty() {
                continue;
            }
            if !rule.pattern.as_ref().is_some_and(|p| p.matches(event)) {
                continue;
            }
            let text = text.get_or_insert_with(|| event.to_string());
            for t in rule.targets.values() {
                out.push(DeliveryRow {
                    id: format!("{id}/{}/{}", rule.row.arn, t.id),
                    event: text.clone(),
                    rule_arn: rule.row.arn.clone(),
                    rule_name: rule.row.name.clone(),
                    target: t.spec.to_string(),
                    ingested_ms: at.ingested_ms,
                    attempts: 0,
                    next_ms: at.due_ms,
                });
            }
        }
        out
    }
}
