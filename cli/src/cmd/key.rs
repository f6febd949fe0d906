//! `gavel key`: encrypted keystores (new, import, list).

use anyhow::Context;
use gavel_chain_client::{Keystore, PRIVATE_KEY_ENV};
use serde::Serialize;

use crate::{
    config::{ChainArgs, UsageError, password},
    output::Output,
};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create a new random key, encrypted with a password (prompted, or GAVEL_KEYSTORE_PASSWORD).
    New {
        /// The key's name (letters, digits, '-', '_', '.').
        name: String,
    },
    /// Import an existing private key, encrypted with a password. The key is read from a
    /// hidden prompt, from one line of standard input (--stdin), or from GAVEL_PRIVATE_KEY
    /// (--from-env); never from a flag, which other users could see.
    Import {
        /// The key's name.
        name: String,
        /// Read the hex private key from standard input.
        #[arg(long, conflicts_with = "from_env")]
        stdin: bool,
        /// Read the hex private key from GAVEL_PRIVATE_KEY.
        #[arg(long)]
        from_env: bool,
    },
    /// List the keys in the keystore (names and addresses; no password needed).
    List,
}

#[derive(Debug, Serialize)]
struct KeyOut {
    name: String,
    address: Option<String>,
    path: String,
}

pub(crate) fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let config = args.chain.resolve()?;
    let keystore = Keystore::new(&config.keystore_dir);
    match args.command {
        Command::New { name } => {
            let pw = password(&format!("password for the new key {name:?}: "), true)?;
            let address = keystore.create(&name, &pw)?;
            report(out, &keystore, &name, address, "created")
        }
        Command::Import { name, stdin, from_env } => {
            let key = if from_env {
                std::env::var(PRIVATE_KEY_ENV)
                    .ok()
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| UsageError(format!("--from-env: {PRIVATE_KEY_ENV} is not set")))?
            } else if stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("reading the private key from standard input")?;
                line
            } else {
                rpassword::prompt_password("private key (hex): ").map_err(|_| {
                    UsageError("cannot read the key from the terminal; use --stdin or --from-env".into())
                })?
            };
            let pw = password(&format!("password for {name:?}: "), true)?;
            let address = keystore.import(&name, &key, &pw)?;
            report(out, &keystore, &name, address, "imported")
        }
        Command::List => {
            let keys: Vec<KeyOut> = keystore
                .list()?
                .into_iter()
                .map(|k| KeyOut {
                    name: k.name,
                    address: k.address.map(|a| a.to_checksum(None)),
                    path: k.path.display().to_string(),
                })
                .collect();
            out.result(&keys, || {
                if keys.is_empty() {
                    return format!("no keys in {} (create one with `gavel key new NAME`)", keystore.dir().display());
                }
                let mut s = format!("{:<20} {:<42}\n", "NAME", "ADDRESS");
                for k in &keys {
                    s += &format!("{:<20} {:<42}\n", k.name, k.address.as_deref().unwrap_or("?"));
                }
                s.trim_end().to_owned()
            });
            Ok(())
        }
    }
}

fn report(
    out: &Output,
    keystore: &Keystore,
    name: &str,
    address: gavel_chain_client::alloy::primitives::Address,
    verb: &str,
) -> anyhow::Result<()> {
    let k = KeyOut {
        name: name.to_owned(),
        address: Some(address.to_checksum(None)),
        path: keystore.dir().join(name).display().to_string(),
    };
    out.result(&k, || format!("{verb} key {name:?}: {address} ({})", k.path));
    Ok(())
}
