//! A process's CPU time and resident memory, from `/proc/<pid>/stat` and `/proc/<pid>/status`.

/// utime + stime of a `/proc/<pid>/stat` line, in clock ticks.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` of a `/proc/<pid>/status` text, in kB.
pub fn rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU ticks of a live process.
pub fn process_cpu_ticks(pid: u32) -> Option<u64> {
    cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Resident memory of a live process, in kB.
pub fn process_rss_kb(pid: u32) -> Option<u64> {
    rss_kb(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_utime_plus_stime_even_with_spaces_in_the_name() {
        let stat = "4242 (switch board) S 1 4242 4242 0 -1 4194560 5000 0 0 0 \
                    1234 567 0 0 20 0 9 0 100 123456789 4000 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(1801));
        assert_eq!(cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn rss_is_read_in_kilobytes() {
        let status = "Name:\tswitchboard\nVmPeak:\t  900000 kB\nVmRSS:\t  131072 kB\nThreads:\t9\n";
        assert_eq!(rss_kb(status), Some(131_072));
        assert_eq!(rss_kb("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let me = std::process::id();
        assert!(process_rss_kb(me).unwrap() > 0);
        assert!(process_cpu_ticks(me).is_some());
    }
}
