//! Human-readable sizes and durations, exactly as memwatch 0.2 printed them
//! (`mw_util::niceSize` / `mw_util::niceDelta`), because users grep logs and
//! assert on these strings.

/// `"X.XX mb"` above 1 MiB, `"X.XX kb"` above 1 KiB, else `"N bytes"`.
/// The thresholds are strict (`>`), and the sign is kept, like the original.
pub fn nice_size(bytes: f64) -> String {
    const KB: f64 = 1024.0;
    const MB: f64 = 1024.0 * 1024.0;
    if !bytes.is_finite() {
        // Only reachable through a zero-length period; say so rather than print "inf".
        return "unknown".to_string();
    }
    let magnitude = bytes.abs();
    if magnitude > MB {
        format!("{:.2} mb", bytes / MB)
    } else if magnitude > KB {
        format!("{:.2} kb", bytes / KB)
    } else {
        // The original printed an integer byte count.
        format!("{} bytes", bytes.trunc() as i64)
    }
}

/// `"1h 2m 3s"`: hours and minutes only when non-zero, seconds always.
pub fn nice_delta(seconds: u64) -> String {
    let mut out = String::new();
    let hours = seconds / 3600;
    let minutes = (seconds / 60) % 60;
    if hours > 0 {
        out.push_str(&format!("{hours}h "));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}m "));
    }
    out.push_str(&format!("{}s", seconds % 60));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_memwatch_units_and_thresholds() {
        assert_eq!(nice_size(0.0), "0 bytes");
        assert_eq!(nice_size(1024.0), "1024 bytes");
        assert_eq!(nice_size(1025.0), "1.00 kb");
        assert_eq!(nice_size(1536.0), "1.50 kb");
        assert_eq!(nice_size(1024.0 * 1024.0), "1024.00 kb");
        assert_eq!(nice_size(12_236_000.0), "11.67 mb");
        assert_eq!(nice_size(-2048.5), "-2.00 kb");
        assert_eq!(nice_size(-12.0), "-12 bytes");
        assert_eq!(nice_size(f64::INFINITY), "unknown");
    }

    #[test]
    fn deltas_skip_zero_hours_and_minutes() {
        assert_eq!(nice_delta(0), "0s");
        assert_eq!(nice_delta(20), "20s");
        assert_eq!(nice_delta(61), "1m 1s");
        assert_eq!(nice_delta(3723), "1h 2m 3s");
        assert_eq!(nice_delta(3600), "1h 0s");
        assert_eq!(nice_delta(90_000), "25h 0s");
    }
}
