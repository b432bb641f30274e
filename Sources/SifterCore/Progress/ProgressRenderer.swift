import Distribution
import Foundation
import OCISpec
import Rootfs
import Synchronization

/// How progress reaches its reader.
public enum ProgressStyle: Sendable, Equatable {
    /// A terminal: one live line for the stage running (bytes done and total, rate, ETA),
    /// redrawn in place and left as a summary line when the stage ends.
    case terminal
    /// A log (CI, a pipe): a plain line when a stage starts and when it ends, and at most one
    /// progress line every `ProgressRenderer.logInterval` seconds, also while nothing moves,
    /// so a stalled registry and a slow compression read differently.
    case log
    /// Nothing (`--quiet`).
    case quiet
}

/// The stages a person waits for, as `build`, `convert`, `pull` and `push` go through them.
public enum ProgressStage: String, Sendable {
    case download, index, stream, sif, hash, upload
}

/// The one progress display of build, convert, pull and push: fed their events (from any
/// thread), writes lines through `write`. Time comes from `now` (monotonic seconds) and the
/// terminal's width from `columns`, so a test can script both.
public final class ProgressRenderer: Sendable {
    public static let logInterval = 10.0
    /// A terminal line is redrawn at most this often (download threads report every MiB).
    static let redrawInterval = 0.2

    public let style: ProgressStyle
    private let write: @Sendable (String) -> Void
    private let now: @Sendable () -> Double
    private let columns: @Sendable () -> Int?
    private let state = Mutex(State())

    public init(style: ProgressStyle, write: @escaping @Sendable (String) -> Void,
                now: @escaping @Sendable () -> Double = ProgressRenderer.monotonicSeconds,
                columns: @escaping @Sendable () -> Int? = { nil }) {
        self.style = style
        self.write = write
        self.now = now
        self.columns = columns
    }

    @Sendable public static func monotonicSeconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    // MARK: Events of the commands

    public func build(_ event: BuildEvent) {
        update { state, time in
            switch event {
            case let .resolved(image):
                let size = image.layers.reduce(Int64(0)) { $0 + $1.descriptor.size }
                note("\(image.sourceText): \(image.manifestDigest.short), \(image.layers.count) layers (\(ByteCount.text(size))), \(image.platform)",
                     state: &state, time: time)
                // Layers found in the cache or in a local layout never start the download stage.
                state.downloads.expect(image.layers.map { ($0.descriptor.digest, $0.descriptor.size) })
                syncDownload(state: &state, time: time)
            case .stage(.index):
                begin(.index, total: nil, countsBytes: true, state: &state, time: time)
            case .stage(.stream):
                end(.index, state: &state, time: time)
                begin(.stream, total: nil, countsBytes: true, state: &state, time: time)
            case .stage(.sif):
                end(.index, state: &state, time: time)
                end(.stream, state: &state, time: time)
                begin(.sif, total: nil, countsBytes: false, state: &state, time: time)
            case let .flatten(progress):
                let stage: ProgressStage = progress.pass == .index ? .index : .stream
                advance(stage, completed: progress.completedBytes, moved: progress.completedBytes, total: progress.totalBytes,
                        state: &state, time: time)
            }
        }
    }

    /// A blob download of `pull` (the stage ends when every blob seen has arrived).
    public func download(_ progress: BlobProgress) {
        download(progress.digest, progress.event, completed: progress.completedBytes, total: progress.totalBytes, ofImage: false)
    }

    /// A layer download of `build` or `convert`: the stage ends once the image is resolved and
    /// all its layers have arrived (downloads start before the image's layer list is known).
    public func layerDownload(_ progress: BlobProgress) {
        download(progress.digest, progress.event, completed: progress.completedBytes, total: progress.totalBytes, ofImage: true)
    }

    func download(_ digest: Digest, _ event: BlobProgress.Event, completed: Int64, total: Int64, ofImage: Bool) {
        update { state, time in
            if ofImage { state.downloads.endsWithImage = true }
            state.downloads.record(digest, event, completed: completed, total: total)
            syncDownload(state: &state, time: time)
        }
    }

    public func push(_ event: PushEvent) {
        update { state, time in
            switch event {
            case let .hashing(path):
                endAll(state: &state, time: time)
                begin(.hash, total: nil, countsBytes: false, detail: path, state: &state, time: time)
            case let .uploading(_, size):
                end(.hash, state: &state, time: time)
                begin(.upload, total: size, countsBytes: false, detail: ByteCount.text(size), state: &state, time: time)
            case let .blob(digest, size, outcome):
                end(.hash, state: &state, time: time)
                guard digest.description != SIFArtifact.configDigest else { break }
                end(.upload, state: &state, time: time)
                if outcome == .existed {
                    note("upload: the registry has \(digest.short) (\(ByteCount.text(size))) already; nothing uploaded", state: &state, time: time)
                }
            case .tagged:
                break
            }
        }
    }

    /// `source` is the SOURCE argument, named with the digest it resolves to.
    public func convert(_ event: Converter.Event, source: String) {
        switch event {
        case let .sourceDigest(digest): update { state, time in note("\(source): \(digest.short)", state: &state, time: time) }
        case .upToDate: break
        case let .build(event): build(event)
        case let .push(event): push(event)
        }
    }

    /// Called about once a second: redraws the live line (rates decay while nothing moves) and
    /// writes the log's periodic line when it is due.
    public func tick() {
        update { state, time in
            for index in state.running.indices { state.running[index].window.add(time: time, bytes: state.running[index].moved) }
        }
    }

    /// Ends every stage still running and leaves the terminal at the start of a clean line.
    public func finish() {
        update { state, time in
            endAll(state: &state, time: time)
            clearLive(state: &state)
        }
    }

    /// A message (a warning, an error) written between progress lines, never across the live line.
    public func printAbove(_ text: String) {
        state.withLock { state in
            if style == .terminal { clearLive(state: &state) }
            write(text)
            state.lastDraw = -.infinity
            if style == .terminal { render(state: &state, time: now()) }
        }
    }

    // MARK: Stages

    struct Running {
        var stage: ProgressStage
        var started: Double
        var completed: Int64 = 0
        /// Bytes that moved in this run, for the rate (a download's cached layers did not).
        var moved: Int64 = 0
        var total: Int64?
        var countsBytes: Bool
        var detail: String?
        var announced = false
        var window = RateWindow()
    }

    struct State {
        var running: [Running] = []
        var ended: Set<ProgressStage> = []
        var downloads = DownloadTally()
        var liveShown = false
        var lastDraw = -Double.infinity
        var lastLogLine = -Double.infinity
    }

    /// Runs `body` under the lock with the time, then redraws or logs what is due.
    private func update(_ body: (inout State, Double) -> Void) {
        guard style != .quiet else { return }
        state.withLock { state in
            let time = now()
            body(&state, time)
            render(state: &state, time: time)
        }
    }

    private func begin(_ stage: ProgressStage, total: Int64?, countsBytes: Bool, detail: String? = nil,
                       state: inout State, time: Double) {
        guard !state.ended.contains(stage), !state.running.contains(where: { $0.stage == stage }) else { return }
        var running = Running(stage: stage, started: time, total: total, countsBytes: countsBytes, detail: detail)
        running.window.add(time: time, bytes: 0)
        state.running.append(running)
        // A stage counting bytes is announced with its total, which its first report brings.
        if !countsBytes || total != nil { announce(stage, state: &state) }
        state.lastDraw = -.infinity
    }

    private func advance(_ stage: ProgressStage, completed: Int64, moved: Int64, total: Int64?, state: inout State, time: Double) {
        guard let index = state.running.firstIndex(where: { $0.stage == stage }) else { return }
        state.running[index].completed = completed
        state.running[index].moved = moved
        state.running[index].total = total
        state.running[index].window.add(time: time, bytes: moved)
        if total != nil { announce(stage, state: &state) }
    }

    private func end(_ stage: ProgressStage, state: inout State, time: Double) {
        guard let index = state.running.firstIndex(where: { $0.stage == stage }) else { return }
        announce(stage, state: &state)
        let running = state.running.remove(at: index)
        state.ended.insert(stage)
        let line = endText(running, downloads: state.downloads, time: time)
        switch style {
        case .terminal:
            clearLive(state: &state)
            write(ProgressText.label(stage) + line + "\n")
            state.lastDraw = -.infinity
        case .log:
            write("\(stage.rawValue): \(line)\n")
        case .quiet:
            break
        }
    }

    private func endAll(state: inout State, time: Double) {
        for stage in state.running.map(\.stage) { end(stage, state: &state, time: time) }
    }

    /// The log's start line (a terminal shows the live line instead).
    private func announce(_ stage: ProgressStage, state: inout State) {
        guard let index = state.running.firstIndex(where: { $0.stage == stage }), !state.running[index].announced else { return }
        state.running[index].announced = true
        guard style == .log else { return }
        write("\(stage.rawValue): \(startText(state.running[index], downloads: state.downloads))\n")
    }

    private func note(_ text: String, state: inout State, time: Double) {
        if style == .terminal { clearLive(state: &state) }
        write(TerminalText.line(text) + "\n")
        state.lastDraw = -.infinity
    }

    /// The download stage follows the tally: begun at the first byte asked for, ended when
    /// everything expected has arrived.
    private func syncDownload(state: inout State, time: Double) {
        let tally = state.downloads
        if tally.started { begin(.download, total: nil, countsBytes: true, state: &state, time: time) }
        advance(.download, completed: tally.completed, moved: tally.transferred, total: tally.totalIfKnown, state: &state, time: time)
        if tally.complete { end(.download, state: &state, time: time) }
    }

    // MARK: Output

    private func render(state: inout State, time: Double) {
        switch style {
        case .terminal:
            guard let shown = state.running.first else { return clearLive(state: &state) }
            guard time - state.lastDraw >= Self.redrawInterval else { return }
            state.lastDraw = time
            let line = ProgressText.fitted(ProgressText.label(shown.stage) + liveText(shown, downloads: state.downloads, time: time),
                                           columns: columns())
            write("\r\u{1B}[K" + TerminalText.line(line))
            state.liveShown = true
        case .log:
            guard let shown = state.running.first, time - max(state.lastLogLine, shown.started) >= Self.logInterval else { return }
            // A stage still waiting for its total is announced with what is known.
            announce(shown.stage, state: &state)
            state.lastLogLine = time
            write("\(shown.stage.rawValue): \(logText(shown, time: time))\n")
        case .quiet:
            break
        }
    }

    private func clearLive(state: inout State) {
        guard state.liveShown else { return }
        write("\r\u{1B}[K")
        state.liveShown = false
    }
}
