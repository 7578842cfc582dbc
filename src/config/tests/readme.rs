//! The README against the code: its config example shows every key at the code's default.

use serde_norway::{Mapping, Value};

use super::*;

const README: &str = include_str!("../../../README.md");

/// The keys whose values in the example are placeholders (an app, a room level), not defaults.
const PLACEHOLDERS: &[&[&str]] = &[
    &["feishu", "app_id"],
    &["feishu", "app_secret_file"],
    &["collect", "rooms", "room_level_id"],
];

/// Keys `check-config` prints that the example leaves out on purpose: the redacted secret (never
/// in a file) and whether rooms are on (they are when a level is set).
const NOT_IN_THE_EXAMPLE: &[&str] = &["feishu.app_secret", "collect.rooms.enabled"];

/// The YAML block after "Optionally write a config file".
fn example() -> &'static str {
    let (_, after) = README
        .split_once("Optionally write a config file")
        .expect("README.md: the config file step");
    let (_, block) = after
        .split_once("```yaml\n")
        .expect("README.md: a yaml block after the config file step");
    block
        .split_once("```")
        .expect("README.md: the block ends")
        .0
}

fn get<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

/// `a.b.c` for each scalar or sequence below `value`.
fn leaf_keys(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value.as_mapping() {
        Some(mapping) => {
            for (key, value) in mapping {
                let key = key.as_str().expect("string keys");
                let path = if prefix.is_empty() {
                    key.to_owned()
                } else {
                    format!("{prefix}.{key}")
                };
                leaf_keys(value, &path, out);
            }
        }
        None => out.push(prefix.to_owned()),
    }
}

#[test]
fn the_readme_example_is_the_defaults_but_for_its_placeholders() {
    let env = env_of(&[(ENV_APP_SECRET, "x")]);
    let example_config = Config::from_yaml_str(example(), "README.md", &Overrides::default(), &env)
        .unwrap_or_else(|e| panic!("README.md's example does not load: {e}"));

    // The same file with only the placeholders in it.
    let parsed: Value = serde_norway::from_str(example()).unwrap();
    let mut placeholders = Value::Mapping(Mapping::new());
    for path in PLACEHOLDERS {
        let value = get(&parsed, path)
            .unwrap_or_else(|| panic!("README.md's example lacks {}", path.join(".")))
            .clone();
        let (last, parents) = path.split_last().unwrap();
        let mut node = &mut placeholders;
        for key in parents {
            let mapping = node.as_mapping_mut().unwrap();
            if !mapping.contains_key(*key) {
                mapping.insert((*key).into(), Value::Mapping(Mapping::new()));
            }
            node = mapping.get_mut(*key).unwrap();
        }
        node.as_mapping_mut().unwrap().insert((*last).into(), value);
    }
    let placeholders = serde_norway::to_string(&placeholders).unwrap();
    let defaults = Config::from_yaml_str(&placeholders, "t", &Overrides::default(), &env).unwrap();
    assert_eq!(
        example_config.to_yaml(),
        defaults.to_yaml(),
        "a value in README.md's config example is not the code's default"
    );
    assert_eq!(example_config, defaults);
}

#[test]
fn the_readme_example_shows_every_key() {
    let env = env_of(&[(ENV_APP_SECRET, "x")]);
    let config =
        Config::from_yaml_str(example(), "README.md", &Overrides::default(), &env).unwrap();
    let (mut shown, mut printed) = (Vec::new(), Vec::new());
    leaf_keys(&serde_norway::from_str(example()).unwrap(), "", &mut shown);
    leaf_keys(
        &serde_norway::from_str(&config.to_yaml()).unwrap(),
        "",
        &mut printed,
    );
    let missing: Vec<&String> = printed
        .iter()
        .filter(|k| !shown.contains(k) && !NOT_IN_THE_EXAMPLE.contains(&k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's config example lacks {missing:?}"
    );
}

#[test]
fn the_readme_names_the_default_base_url_and_the_api_limit() {
    let row = format!("| `{ENV_BASE_URL}` | `{DEFAULT_BASE_URL}` (default)");
    assert!(README.contains(&row), "README.md lacks {row:?}");
    let limit = format!("Feishu allows {}", crate::feishu::MAX_REQUESTS_PER_MINUTE);
    assert!(
        example().contains(&limit),
        "README.md's example lacks {limit:?}"
    );
}
