//! Zone files: any text through the streaming master-file reader (`$ORIGIN`, `$TTL`,
//! parentheses, quoting, every RDATA type), each entry it accepts written back out with
//! `write_entry` and read again to the same record.

#![no_main]

use ddns_core::DomainName;
use ddns_core::zone_file::{ZoneFileReader, write_entry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let origin = DomainName::parse("dyn.example").unwrap_or_else(|_| unreachable!());
    for entry in ZoneFileReader::new(data, &origin, Some(300)).take(10_000) {
        let Ok(entry) = entry else {
            continue;
        };
        let mut text = String::new();
        if write_entry(
            &mut text,
            &entry.owner,
            entry.ttl,
            entry.rtype,
            &entry.rdata,
        )
        .is_err()
        {
            continue;
        }
        let again: Vec<_> = ZoneFileReader::new(text.as_bytes(), &origin, Some(300)).collect();
        assert_eq!(again.len(), 1, "{text:?} reads back as one entry");
        match &again[0] {
            Ok(back) => assert_eq!(
                (&back.owner, back.rtype, back.ttl, &back.rdata),
                (&entry.owner, entry.rtype, entry.ttl, &entry.rdata),
                "{text:?}"
            ),
            Err(e) => panic!("{text:?} does not read back: {e}"),
        }
    }
});
