//! Redis `INFO commandstats`: calls per command, and what a run added.

use std::collections::BTreeMap;

/// Calls per command name (`evalsha`, `client|setname`, …).
pub type Calls = BTreeMap<String, u64>;

/// Parses the `cmdstat_<name>:calls=N,usec=…` lines; other lines are ignored.
pub fn parse(text: &str) -> Calls {
    text.lines()
        .filter_map(|line| {
            let (name, fields) = line.trim().strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = fields
                .split(',')
                .find_map(|f| f.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_string(), calls))
        })
        .collect()
}

/// Calls made between two snapshots, per command, without the `info` calls that took them.
pub fn delta(before: &Calls, after: &Calls) -> Calls {
    after
        .iter()
        .filter(|(name, _)| name.as_str() != "info")
        .filter_map(|(name, &n)| {
            let d = n.saturating_sub(before.get(name).copied().unwrap_or(0));
            (d > 0).then(|| (name.clone(), d))
        })
        .collect()
}

/// Sums several deltas.
pub fn add(total: &mut Calls, more: &Calls) {
    for (name, n) in more {
        *total.entry(name.clone()).or_default() += n;
    }
}

/// Calls per payment, per command and `"total"`.
pub fn per_payment(calls: &Calls, payments: u64) -> BTreeMap<String, f64> {
    if payments == 0 {
        return BTreeMap::new();
    }
    let mut out: BTreeMap<String, f64> = calls
        .iter()
        .map(|(name, &n)| (name.clone(), n as f64 / payments as f64))
        .collect();
    let total: u64 = calls.values().sum();
    out.insert("total".into(), total as f64 / payments as f64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# Commandstats\r\n\
        cmdstat_evalsha:calls=10,usec=500,usec_per_call=50.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_info:calls=3,usec=30,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_client|setname:calls=2,usec=1,usec_per_call=0.50,rejected_calls=0,failed_calls=0\r\n";
    const AFTER: &str = "# Commandstats\n\
        cmdstat_evalsha:calls=210,usec=9000,usec_per_call=42.86,rejected_calls=0,failed_calls=0\n\
        cmdstat_info:calls=4,usec=40,usec_per_call=10.00,rejected_calls=0,failed_calls=0\n\
        cmdstat_client|setname:calls=2,usec=1,usec_per_call=0.50,rejected_calls=0,failed_calls=0\n\
        cmdstat_xadd:calls=100,usec=900,usec_per_call=9.00,rejected_calls=0,failed_calls=0\n";

    #[test]
    fn parses_calls_per_command_with_subcommands() {
        let calls = parse(BEFORE);
        assert_eq!(calls.len(), 3);
        assert_eq!(calls["evalsha"], 10);
        assert_eq!(calls["client|setname"], 2);
        assert!(parse("# Commandstats\nredis_version:7.0.15\n").is_empty());
    }

    #[test]
    fn delta_keeps_new_and_grown_commands_without_info() {
        let d = delta(&parse(BEFORE), &parse(AFTER));
        assert_eq!(
            d.into_iter().collect::<Vec<_>>(),
            vec![("evalsha".to_string(), 200), ("xadd".to_string(), 100)]
        );
    }

    #[test]
    fn per_payment_divides_each_and_the_total() {
        let mut total = Calls::new();
        add(&mut total, &delta(&parse(BEFORE), &parse(AFTER)));
        add(&mut total, &delta(&parse(BEFORE), &parse(AFTER)));
        let per = per_payment(&total, 200);
        assert_eq!(per["evalsha"], 2.0);
        assert_eq!(per["xadd"], 1.0);
        assert_eq!(per["total"], 3.0);
        assert!(per_payment(&total, 0).is_empty());
    }
}
