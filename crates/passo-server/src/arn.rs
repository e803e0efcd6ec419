//! ARNs as AWS Step Functions builds and checks them, and the resource-name rules.

use crate::error::ApiError;

/// Where this server says it lives (account and region appear in every ARN).
#[derive(Debug, Clone)]
pub struct Realm {
    pub account: String,
    pub region: String,
}

/// The resource an ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `stateMachine:NAME`
    Machine { name: String },
    /// `stateMachine:NAME:N`
    Version { name: String, version: i64 },
    /// `stateMachine:NAME:ALIAS`
    Alias { name: String, alias: String },
    /// `execution:MACHINE:NAME`
    Execution { machine: String, name: String },
    /// `express:MACHINE:NAME:ID`
    Express,
    /// `activity:NAME`
    Activity { name: String },
    /// `mapRun:...`
    MapRun,
}

impl Realm {
    fn prefix(&self) -> String {
        format!("arn:aws:states:{}:{}:", self.region, self.account)
    }
    pub fn machine_arn(&self, name: &str) -> String {
        format!("{}stateMachine:{name}", self.prefix())
    }
    pub fn execution_arn(&self, machine: &str, name: &str) -> String {
        format!("{}execution:{machine}:{name}", self.prefix())
    }
    pub fn express_arn(&self, machine: &str, name: &str, id: &str) -> String {
        format!("{}express:{machine}:{name}:{id}", self.prefix())
    }
    pub fn activity_arn(&self, name: &str) -> String {
        format!("{}activity:{name}", self.prefix())
    }
}

/// Parses a Step Functions ARN (any account or region: AWS answers "does not exist" rather
/// than "invalid" for a well-formed ARN elsewhere).
pub fn parse(arn: &str) -> Result<Resource, ApiError> {
    let invalid = |why: String| ApiError::InvalidArn(format!("Invalid Arn: '{why}'"));
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[2] != "states" {
        return Err(invalid(format!("Invalid ARN prefix: {arn}")));
    }
    let rest: Vec<&str> = arn.splitn(6, ':').nth(5).unwrap_or("").split(':').collect();
    let name = |i: usize| rest.get(i).map(|s| s.to_string()).unwrap_or_default();
    let nonempty = |i: usize| rest.get(i).is_some_and(|s| !s.is_empty());
    match rest[0] {
        "stateMachine" if rest.len() == 2 && nonempty(1) => Ok(Resource::Machine { name: name(1) }),
        "stateMachine" if rest.len() == 3 && nonempty(1) && nonempty(2) => {
            match rest[2].parse::<i64>() {
                Ok(v) => Ok(Resource::Version {
                    name: name(1),
                    version: v,
                }),
                Err(_) => Ok(Resource::Alias {
                    name: name(1),
                    alias: name(2),
                }),
            }
        }
        "execution" if rest.len() == 3 && nonempty(1) && nonempty(2) => Ok(Resource::Execution {
            machine: name(1),
            name: name(2),
        }),
        "express" if rest.len() == 4 => Ok(Resource::Express),
        "activity" if rest.len() == 2 && nonempty(1) => Ok(Resource::Activity { name: name(1) }),
        "mapRun" => Ok(Resource::MapRun),
        _ => Err(invalid(format!("Invalid ARN prefix: {arn}"))),
    }
}

/// The resource type AWS names when an ARN of the wrong kind is given.
pub fn kind_name(r: &Resource) -> &'static str {
    match r {
        Resource::Machine { .. } | Resource::Version { .. } | Resource::Alias { .. } => {
            "stateMachine"
        }
        Resource::Execution { .. } => "execution",
        Resource::Express => "express",
        Resource::Activity { .. } => "activity",
        Resource::MapRun => "mapRun",
    }
}

pub fn wrong_kind(r: &Resource) -> ApiError {
    ApiError::InvalidArn(format!(
        "Invalid Arn: 'Resource type not valid in this context: {}'",
        kind_name(r)
    ))
}

/// AWS's name rule for state machines, executions and activities: 1 to 80 characters, none
/// of whitespace, `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /`, nor control characters.
pub fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=80).contains(&n)
        && !name.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
        })
}

pub fn check_name(name: &str) -> Result<(), ApiError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::InvalidName(format!("Invalid Name: '{name}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind_and_refuses_garbage() {
        let p = |s: &str| parse(s).unwrap();
        assert_eq!(
            p("arn:aws:states:us-east-1:1:stateMachine:m"),
            Resource::Machine { name: "m".into() }
        );
        assert_eq!(
            p("arn:aws:states:us-east-1:1:stateMachine:m:3"),
            Resource::Version {
                name: "m".into(),
                version: 3
            }
        );
        assert_eq!(
            p("arn:aws:states:us-east-1:1:stateMachine:m:prod"),
            Resource::Alias {
                name: "m".into(),
                alias: "prod".into()
            }
        );
        assert_eq!(
            p("arn:aws:states:us-east-1:1:execution:m:e"),
            Resource::Execution {
                machine: "m".into(),
                name: "e".into()
            }
        );
        let e = parse("invalid_state_machine_arn").unwrap_err();
        assert_eq!(
            e.message(),
            "Invalid Arn: 'Invalid ARN prefix: invalid_state_machine_arn'"
        );
    }

    #[test]
    fn names_follow_aws_rules() {
        assert!(valid_name("order-42_ok.v2"));
        for bad in [
            "", "a b", "a:b", "a/b", "a\u{1f}", "a\u{7f}", "\u{0}a", "a$b",
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(!valid_name(&"x".repeat(81)));
    }
}
