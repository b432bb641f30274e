import Foundation

/// A byte count for people: `512 B`, `1.5 KiB`, `323.0 MiB`.
public enum ByteCount {
    public static func text(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}

/// The words and numbers of progress lines.
enum ProgressText {
    /// `0.4 s`, `24 s`, `2 min 05 s`, `1 h 02 min`.
    static func duration(_ seconds: Double) -> String {
        let seconds = max(0, seconds)
        if seconds < 10 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
        return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
    }

    static func rate(_ bytesPerSecond: Double) -> String {
        ByteCount.text(Int64(bytesPerSecond.rounded())) + "/s"
    }

    /// Whole percent, never 100 before the end.
    static func percent(_ done: Int64, of total: Int64) -> Int {
        guard total > 0 else { return 100 }
        guard done < total else { return 100 }
        return min(99, Int(Double(done) * 100 / Double(total)))
    }

    /// `text` cut to `columns - 1` characters (the last column would wrap on some terminals),
    /// with `…` where it was cut.
    static func fitted(_ text: String, columns: Int?) -> String {
        guard let columns, columns > 1, text.count > columns - 1 else { return text }
        return String(text.prefix(max(0, columns - 2))) + "…"
    }

    /// The stage name padded so that the numbers of successive lines line up.
    static func label(_ stage: ProgressStage) -> String {
        stage.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
    }
}

/// Bytes done over the last few seconds, for a rate that follows the transfer as it is now
/// (a stalled registry drops to nothing) rather than its average since the start.
struct RateWindow {
    static let span = 5.0
    private var samples: [(time: Double, bytes: Int64)] = []

    mutating func add(time: Double, bytes: Int64) {
        samples.append((time, bytes))
        // The first sample kept is the last one at least `span` old: the window covers `span`.
        while samples.count > 2, samples[1].time <= time - Self.span {
            samples.removeFirst()
        }
    }

    /// Bytes a second, once the samples cover at least a second.
    var bytesPerSecond: Double? {
        guard let first = samples.first, let last = samples.last, last.time - first.time >= 1 else { return nil }
        return Double(last.bytes - first.bytes) / (last.time - first.time)
    }
}
