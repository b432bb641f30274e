import ArgumentParser
import Foundation
import SifterCore
import Synchronization

/// `--quiet`, shared by build, convert, pull and push.
struct ProgressFlags: ParsableArguments {
    @Flag(name: [.customShort("q"), .long], help: "Print no progress: only warnings, errors and the result.")
    var quiet = false
}

/// The progress display of one command on standard error: a live line on a terminal, plain
/// lines in a log (CI), nothing with --quiet. A timer ticks it every second, so a stage in
/// which nothing moves still shows its time. No colour is used, so NO_COLOR needs nothing.
struct ProgressDisplay {
    let renderer: ProgressRenderer
    private let timer: any DispatchSourceTimer

    init(_ flags: ProgressFlags) {
        let style: ProgressStyle = flags.quiet ? .quiet : isatty(STDERR_FILENO) != 0 ? .terminal : .log
        let renderer = ProgressRenderer(style: style, write: { FileHandle.standardError.write(Data($0.utf8)) },
                                        columns: terminalColumns)
        self.renderer = renderer
        timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { renderer.tick() }
        timer.resume()
        activeProgress.withLock { $0 = renderer }
    }

    /// Ends the stages still shown; the command's result and errors follow on clean lines.
    func finish() {
        timer.cancel()
        renderer.finish()
        activeProgress.withLock { $0 = nil }
    }
}

/// The display running, if any: messages printed meanwhile go above its live line.
let activeProgress = Mutex<ProgressRenderer?>(nil)

/// Standard error's terminal width, for a live line that must never wrap.
@Sendable func terminalColumns() -> Int? {
    var size = winsize()
    guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
    return Int(size.ws_col)
}
