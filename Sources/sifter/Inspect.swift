import ArgumentParser
import SIF
import SifterCore

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a SIF file's header, objects, definition file and JSON objects.",
        discussion: "With --json, prints a stable JSON document (see README) with the sha256 of every object."
    )

    @Argument(help: "The SIF file.") var file: String
    @Flag(help: "Print machine-readable JSON.") var json = false

    func run() throws {
        let image = try SIFImage.load(path: file)
        let report = try InspectReport(image: image)
        try image.close()
        printOut(json ? report.json.rendered() + "\n" : report.renderText())
    }
}
