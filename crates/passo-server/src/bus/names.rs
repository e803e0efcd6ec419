//! EventBridge's names and ARNs: buses (`event-bus/NAME`), rules (`rule/NAME` on the default
//! bus, `rule/BUS/NAME` on others), and the rules the API checks names against.

use super::error::EventsError;
use crate::arn::Realm;

/// The bus every account has; it cannot be created or deleted.
pub const DEFAULT_BUS: &str = "default";

const RULE_PATTERN: &str = "[\\.\\-_A-Za-z0-9]+";
const BUS_PATTERN: &str = "[/\\.\\-_A-Za-z0-9]+";

fn prefix(realm: &Realm) -> String {
    format!("arn:aws:events:{}:{}:", realm.region, realm.account)
}

pub fn bus_arn(realm: &Realm, bus: &str) -> String {
    format!("{}event-bus/{bus}", prefix(realm))
}

pub fn rule_arn(realm: &Realm, bus: &str, rule: &str) -> String {
    if bus == DEFAULT_BUS {
        format!("{}rule/{rule}", prefix(realm))
    } else {
        format!("{}rule/{bus}/{rule}", prefix(realm))
    }
}

fn word(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".-_".contains(c)
}

fn check(
    value: &str,
    field: &str,
    max: usize,
    ok: impl Fn(char) -> bool,
    pattern: &str,
) -> Result<(), EventsError> {
    if value.is_empty() {
        return Err(EventsError::constraint(
            value,
            field,
            "Member must have length greater than or equal to 1",
        ));
    }
    if value.chars().count() > max {
        return Err(EventsError::constraint(
            value,
            field,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value.chars().all(ok) {
        return Err(EventsError::constraint(
            value,
            field,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ));
    }
    Ok(())
}

/// A rule's name: 1 to 64 of `.-_` letters and digits.
pub fn check_rule(name: &str, field: &str) -> Result<(), EventsError> {
    check(name, field, 64, word, RULE_PATTERN)
}

/// A target's Id: the same alphabet as rule names.
pub fn check_target_id(id: &str, field: &str) -> Result<(), EventsError> {
    check(id, field, 64, word, RULE_PATTERN)
}

/// A bus name as CreateEventBus takes it (`/` allowed, as partner buses have).
pub fn check_bus(name: &str, field: &str) -> Result<(), EventsError> {
    check(name, field, 256, |c| word(c) || c == '/', BUS_PATTERN)
}

/// The bus an `EventBusName` member names: absent means `default`; a name or a bus ARN
/// (of any account and region: AWS answers "does not exist" for those).
pub fn bus_of(realm: &Realm, given: Option<&str>) -> Result<String, EventsError> {
    let Some(given) = given else {
        return Ok(DEFAULT_BUS.to_string());
    };
    if given.starts_with("arn:") {
        let ours = format!("{}event-bus/", prefix(realm));
        return match given.strip_prefix(&ours) {
            Some(name) if !name.is_empty() => Ok(name.to_string()),
            _ => match given.split_once(":event-bus/") {
                Some((_, name)) => Err(EventsError::bus_missing(name)),
                None => Err(EventsError::constraint(
                    given,
                    "eventBusName",
                    "Member must satisfy regular expression pattern: (arn:aws[\\w-]*:events:[a-z]{2}-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[/\\.\\-_A-Za-z0-9]+",
                )),
            },
        };
    }
    check_bus(given, "eventBusName")?;
    Ok(given.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realm() -> Realm {
        Realm {
            account: "123456789012".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn rule_arns_name_their_bus_unless_it_is_the_default() {
        assert_eq!(
            rule_arn(&realm(), "default", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/r"
        );
        assert_eq!(
            rule_arn(&realm(), "orders", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/orders/r"
        );
    }

    #[test]
    fn buses_are_named_by_name_or_arn() {
        let r = realm();
        assert_eq!(bus_of(&r, None).unwrap(), "default");
        assert_eq!(bus_of(&r, Some("orders")).unwrap(), "orders");
        assert_eq!(bus_of(&r, Some(&bus_arn(&r, "orders"))).unwrap(), "orders");
        let other = bus_of(&r, Some("arn:aws:events:eu-west-1:1:event-bus/x")).unwrap_err();
        assert_eq!(other.code(), "ResourceNotFoundException");
        assert_eq!(
            bus_of(&r, Some("a b")).unwrap_err().code(),
            "ValidationException"
        );
    }

    #[test]
    fn rule_names_follow_aws_rules() {
        assert!(check_rule("on-order.v2_x", "name").is_ok());
        for bad in ["", "a b", "a/b", "a:b"] {
            assert!(check_rule(bad, "name").is_err(), "{bad:?}");
        }
        assert!(check_rule(&"x".repeat(65), "name").is_err());
    }
}
