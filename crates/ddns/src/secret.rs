//! `ddns secret protect|reveal`: sealing config secrets (`ddns-secrets`) from the command line.
//! The value comes on stdin, so it lands in no shell history and no process list.

use std::io::Read as _;

use anyhow::{Context as _, bail};

use crate::cli::SecretCommand;

/// Stdin without the final line break; more than a line of text is refused.
fn read_value() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .context("reading the value from stdin")?;
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        bail!("no value on stdin (e.g. `ddns secret protect < token.txt`)");
    }
    if value.contains('\n') {
        bail!("the value has several lines; seal one value at a time");
    }
    Ok(value.to_owned())
}

pub(crate) fn run(command: SecretCommand) -> anyhow::Result<()> {
    match command {
        SecretCommand::Protect { key_file } => {
            let value = read_value()?;
            let scheme = ddns_secrets::Scheme::for_this_system(key_file);
            let sealed = ddns_secrets::protect(&value, &scheme)?;
            println!("{sealed}");
            if let ddns_secrets::Scheme::Key(path) = &scheme {
                eprintln!(
                    "sealed with the key in {}: the service must read that file ($DDNS_SECRET_KEY_FILE names another)",
                    path.display()
                );
            }
        }
        SecretCommand::Reveal { key_file } => {
            let value = read_value()?;
            let key_file = key_file.unwrap_or_else(ddns_secrets::default_key_file);
            println!("{}", ddns_secrets::open(&value, &key_file)?);
        }
    }
    Ok(())
}
