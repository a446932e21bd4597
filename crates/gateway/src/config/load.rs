//! Reading the layers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;

use super::model::Config;

const EMBEDDED_MAIN: &str = include_str!("../../../../config/switchboard.toml");
const EMBEDDED_CHANNELS: &[(&str, &str)] = &[
    (
        "movistar_es_sandbox",
        include_str!("../../../../config/channels/movistar_es_sandbox.toml"),
    ),
    (
        "telekom_de_sandbox",
        include_str!("../../../../config/channels/telekom_de_sandbox.toml"),
    ),
    (
        "dialog_lk_ideabiz",
        include_str!("../../../../config/channels/dialog_lk_ideabiz.toml"),
    ),
    (
        "dcb_aggregator_it",
        include_str!("../../../../config/channels/dcb_aggregator_it.toml"),
    ),
    (
        "topup_primary",
        include_str!("../../../../config/channels/topup_primary.toml"),
    ),
    (
        "topup_secondary",
        include_str!("../../../../config/channels/topup_secondary.toml"),
    ),
];

/// Where the file layer comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// `config/switchboard.toml` (and `config/channels/*.toml`) under the working directory, if present.
    Default,
    /// `--config FILE`; channels from `channels/*.toml` beside it. The file must exist.
    File(PathBuf),
    /// Embedded defaults and the environment only (tests).
    EmbeddedOnly,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Wraps one channel file as `channels.<id>`: the id is the file name unless the file sets `id`.
fn channel_layer(file_stem: &str, text: &str, origin: &str) -> Result<Figment, ConfigError> {
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| ConfigError::Invalid(format!("{origin}: {e}")))?;
    let id = match table.remove("id") {
        Some(toml::Value::String(id)) => id,
        Some(_) => {
            return Err(ConfigError::Invalid(format!(
                "{origin}: id must be a string"
            )))
        }
        None => file_stem.to_string(),
    };
    let mut channels = toml::Table::new();
    channels.insert(id, toml::Value::Table(table));
    let mut root = toml::Table::new();
    root.insert("channels".into(), toml::Value::Table(channels));
    Ok(Figment::from(Serialized::defaults(root)))
}

fn file_layers(mut figment: Figment, main: &Path) -> Result<Figment, ConfigError> {
    figment = figment.merge(Toml::string(&read(main)?));
    let dir = main.parent().unwrap_or(Path::new(".")).join("channels");
    if dir.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| ConfigError::Read {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for file in files {
            let stem = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let layer = channel_layer(&stem, &read(&file)?, &file.display().to_string())?;
            figment = figment.merge(layer);
        }
    }
    Ok(figment)
}

/// Maps `SWITCHBOARD_MERCHANTS__DEMO_MERCHANT__CLIENT_SECRET` to `merchants.demo-merchant.client_secret`:
/// environment names cannot hold `-`, so an id segment is matched against the ids already configured.
fn env_layer(known_ids: HashMap<String, String>) -> Env {
    // SWITCHBOARD_LOG is the log filter, read by the binary, not a configuration key.
    Env::prefixed("SWITCHBOARD_")
        .filter(|key| key != "log")
        .map(move |key| {
            let lower = key.as_str().to_lowercase();
            let mut parts: Vec<String> = lower.split("__").map(str::to_string).collect();
            if parts.len() > 2
                && matches!(parts[0].as_str(), "merchants" | "channels" | "operators")
            {
                let table_key = format!("{}.{}", parts[0], parts[1]);
                if let Some(id) = known_ids.get(&table_key) {
                    parts[1] = id.clone();
                }
            }
            parts.join(".").into()
        })
}

fn known_ids(figment: &Figment) -> HashMap<String, String> {
    let mut ids = HashMap::new();
    for table in ["merchants", "channels", "operators"] {
        if let Ok(map) = figment.extract_inner::<HashMap<String, figment::value::Value>>(table) {
            for id in map.keys() {
                ids.insert(
                    format!("{table}.{}", id.to_lowercase().replace('-', "_")),
                    id.clone(),
                );
            }
        }
    }
    ids
}

/// Reads every layer and checks the result as a whole.
pub fn load(source: &ConfigSource) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Toml::string(EMBEDDED_MAIN));
    for (id, text) in EMBEDDED_CHANNELS {
        figment = figment.merge(channel_layer(id, text, "embedded channel")?);
    }
    match source {
        ConfigSource::Default => {
            let main = Path::new("config/switchboard.toml");
            if main.is_file() {
                figment = file_layers(figment, main)?;
            }
        }
        ConfigSource::File(path) => figment = file_layers(figment, path)?,
        ConfigSource::EmbeddedOnly => {}
    }
    let ids = known_ids(&figment);
    figment = figment.merge(env_layer(ids));
    let config: Config = figment
        .extract()
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    super::validate(&config).map_err(ConfigError::Invalid)?;
    Ok(config)
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_are_valid_and_complete() {
        let config = crate::config::defaults_for_test();
        assert_eq!(config.server.port, 8080);
        assert_eq!(config.server.host, "127.0.0.1");
        assert!(config.merchants.contains_key("demo-merchant"));
        assert!(config.merchants.contains_key("demo-merchant-2"));
        assert_eq!(
            config.channels["movistar_es_sandbox"].operators,
            ["movistar-es"]
        );
        assert!(config.operators.contains_key("telekom-de"));
        // Every file in config/channels/ is also embedded, so both layers agree.
        let files = std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/channels"
        ))
        .unwrap();
        for file in files {
            let stem = file
                .unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string();
            assert!(
                config.channels.contains_key(&stem),
                "config/channels/{stem}.toml is not embedded"
            );
        }
    }

    #[test]
    fn a_missing_config_file_is_a_clear_error() {
        let err = load(&ConfigSource::File("/nonexistent/switchboard.toml".into())).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/switchboard.toml"),
            "{err}"
        );
    }

    #[test]
    fn file_layers_and_channel_files_merge_over_defaults() {
        let dir = std::env::temp_dir().join(format!("sb-config-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("channels")).unwrap();
        std::fs::write(dir.join("switchboard.toml"), "[server]\nport = 9191\n").unwrap();
        std::fs::write(
            dir.join("channels/extra.toml"),
            "adapter = \"camara\"\nbase_url = \"http://127.0.0.1:1\"\noperators = [\"movistar-es\"]\n\
             capabilities = [\"payment\"]\npriority = 50\n[credentials]\nclient_id = \"a\"\nclient_secret = \"b\"\n",
        )
        .unwrap();
        let mut loaded = None;
        figment::Jail::expect_with(|_| {
            loaded = Some(
                load(&ConfigSource::File(dir.join("switchboard.toml")))
                    .map_err(|e| e.to_string())?,
            );
            Ok(())
        });
        let config = loaded.unwrap();
        assert_eq!(config.server.port, 9191);
        assert_eq!(
            config.server.host, "127.0.0.1",
            "untouched defaults survive"
        );
        assert_eq!(config.channels["extra"].priority, 50);
        assert!(config.channels.contains_key("movistar_es_sandbox"));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn environment_overrides_and_maps_hyphenated_ids() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_SERVER__PORT", "9090");
            jail.set_env("SWITCHBOARD_LOG", "debug");
            jail.set_env(
                "SWITCHBOARD_MERCHANTS__DEMO_MERCHANT__CLIENT_SECRET",
                "from-env",
            );
            let config = load(&ConfigSource::EmbeddedOnly).map_err(|e| e.to_string())?;
            assert_eq!(config.server.port, 9090);
            assert_eq!(
                config.merchants["demo-merchant"].client_secret.expose(),
                "from-env"
            );
            assert!(!config.merchants.contains_key("demo_merchant"));
            Ok(())
        });
    }

    #[test]
    fn redis_store_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_STORE__BACKEND", "redis");
            jail.set_env("SWITCHBOARD_AUTH__ALLOW_EPHEMERAL_KEYS", "true");
            jail.set_env("SWITCHBOARD_STORE__CLUSTER", "true");
            jail.set_env(
                "SWITCHBOARD_STORE__NODES",
                r#"["redis://10.0.0.1:6379","redis://10.0.0.2:6379"]"#,
            );
            let config = load(&ConfigSource::EmbeddedOnly).map_err(|e| e.to_string())?;
            assert_eq!(config.store.backend, crate::config::StoreBackend::Redis);
            assert!(config.store.cluster);
            assert_eq!(
                config.store.nodes,
                ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]
            );
            Ok(())
        });
    }

    #[test]
    fn signing_keys_from_the_environment() {
        let pem = crate::auth::ed25519_pem_from_seed(&[3; 32]);
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "SWITCHBOARD_AUTH__KEYS",
                format!(r#"[{{kid="k2",private_key_pem="{body}"}},{{kid="k1",private_key_pem="{body}"}}]"#),
            );
            let config = load(&ConfigSource::EmbeddedOnly).map_err(|e| e.to_string())?;
            let kids: Vec<&str> = config.auth.keys.iter().map(|k| k.kid.as_str()).collect();
            assert_eq!(kids, ["k2", "k1"]);
            assert!(crate::auth::TokenIssuer::from_config(&config.auth).is_ok());
            jail.set_env(
                "SWITCHBOARD_AUTH__KEYS",
                r#"[{kid="k1",private_key_pem="not-a-key"}]"#,
            );
            let err = load(&ConfigSource::EmbeddedOnly).unwrap_err().to_string();
            assert!(err.contains("auth.keys 'k1'"), "{err}");
            assert!(!err.contains("not-a-key"), "the key is not echoed: {err}");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_field() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_SERVER__PORT", "not-a-port");
            let err = load(&ConfigSource::EmbeddedOnly).unwrap_err().to_string();
            assert!(err.contains("port"), "{err}");
            Ok(())
        });
    }
}
