//! The names of an optimized integration's parameters and results. Step Functions writes
//! them in PascalCase whatever the service's API uses (`Cluster`, `TaskDefinition` for ECS's
//! `cluster`, `taskDefinition`), and answers in PascalCase too (`Tasks[0].LastStatus`). The
//! service's API model says which keys are member names (renamed) and which are a map's own
//! keys (a Glue job's `Arguments`, tags: left as they are).

use serde_json::{Map, Value};

/// `input` with its member names as the operation's input shape spells them, matched without
/// regard to case; keys the shape does not know are passed on as they are (the service
/// answers them with its own validation error).
pub fn to_api(model: &Value, operation: &str, input: &Value) -> Value {
    let shape = model["operations"][operation]["input"]["shape"].as_str();
    rename(model, shape, input, Direction::ToApi, 0)
}

/// `output` with every member name in PascalCase, as Step Functions answers it.
pub fn to_sfn(model: &Value, operation: &str, output: &Value) -> Value {
    let shape = model["operations"][operation]["output"]["shape"].as_str();
    rename(model, shape, output, Direction::ToSfn, 0)
}

#[derive(Clone, Copy)]
enum Direction {
    ToApi,
    ToSfn,
}

/// Deep enough for any API's shapes; deeper documents are passed on unchanged (no stack
/// overflow on a hostile input).
const MAX_DEPTH: usize = 64;

fn rename(model: &Value, shape: Option<&str>, v: &Value, dir: Direction, depth: usize) -> Value {
    let Some(def) = shape.map(|s| &model["shapes"][s]) else {
        return v.clone();
    };
    if depth > MAX_DEPTH {
        return v.clone();
    }
    match (def["type"].as_str(), v) {
        (Some("structure"), Value::Object(o)) => {
            let members = def["members"].as_object();
            let mut out = Map::new();
            for (k, x) in o {
                let member = members.and_then(|m| {
                    m.iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(k))
                        .map(|(name, d)| (name.as_str(), d["shape"].as_str()))
                });
                let (name, inner) = match (member, dir) {
                    (Some((name, inner)), Direction::ToApi) => (name.to_string(), inner),
                    (Some((name, inner)), Direction::ToSfn) => (pascal(name), inner),
                    (None, Direction::ToApi) => (k.clone(), None),
                    (None, Direction::ToSfn) => (pascal(k), None),
                };
                out.insert(name, rename(model, inner, x, dir, depth + 1));
            }
            Value::Object(out)
        }
        (Some("list"), Value::Array(a)) => {
            let inner = def["member"]["shape"].as_str();
            Value::Array(
                a.iter()
                    .map(|x| rename(model, inner, x, dir, depth + 1))
                    .collect(),
            )
        }
        (Some("map"), Value::Object(o)) => {
            let inner = def["value"]["shape"].as_str();
            Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), rename(model, inner, x, dir, depth + 1)))
                    .collect(),
            )
        }
        _ => v.clone(),
    }
}

/// `taskArn` -> `TaskArn`.
pub fn pascal(name: &str) -> String {
    let mut cs = name.chars();
    match cs.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + cs.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> Value {
        json!({
            "operations": {"RunTask": {"input": {"shape": "RunTaskRequest"}, "output": {"shape": "RunTaskResponse"}}},
            "shapes": {
                "RunTaskRequest": {"type": "structure", "members": {
                    "cluster": {"shape": "String"},
                    "taskDefinition": {"shape": "String"},
                    "tags": {"shape": "Tags"},
                    "overrides": {"shape": "Overrides"}}},
                "Overrides": {"type": "structure", "members": {"containerOverrides": {"shape": "ContainerOverrides"}}},
                "ContainerOverrides": {"type": "list", "member": {"shape": "ContainerOverride"}},
                "ContainerOverride": {"type": "structure", "members": {"name": {"shape": "String"}, "environment": {"shape": "Env"}}},
                "Env": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "String"}},
                "Tags": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "String"}},
                "RunTaskResponse": {"type": "structure", "members": {"tasks": {"shape": "Tasks"}}},
                "Tasks": {"type": "list", "member": {"shape": "Task"}},
                "Task": {"type": "structure", "members": {"taskArn": {"shape": "String"}, "lastStatus": {"shape": "String"}, "tags": {"shape": "Tags"}}},
                "String": {"type": "string"}
            }
        })
    }

    #[test]
    fn parameters_reach_the_api_with_its_member_names_and_map_keys_untouched() {
        let input = json!({
            "Cluster": "c", "TaskDefinition": "td", "Tags": {"Team": "x"},
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": {"KEY": "v"}}]},
            "Unknown": 1
        });
        assert_eq!(
            to_api(&model(), "RunTask", &input),
            json!({
                "cluster": "c", "taskDefinition": "td", "tags": {"Team": "x"},
                "overrides": {"containerOverrides": [{"name": "app", "environment": {"KEY": "v"}}]},
                "Unknown": 1
            })
        );
    }

    #[test]
    fn results_come_back_in_pascal_case_with_map_keys_untouched() {
        let out =
            json!({"tasks": [{"taskArn": "a", "lastStatus": "STOPPED", "tags": {"team": "x"}}]});
        assert_eq!(
            to_sfn(&model(), "RunTask", &out),
            json!({"Tasks": [{"TaskArn": "a", "LastStatus": "STOPPED", "Tags": {"team": "x"}}]})
        );
    }

    #[test]
    fn a_document_deeper_than_any_shape_is_passed_on() {
        let mut v = json!("leaf");
        for _ in 0..200 {
            v = json!({ "overrides": v });
        }
        // No shape nests this deep: unknown keys keep their names, and nothing overflows.
        let _ = to_api(&model(), "RunTask", &v);
    }
}
