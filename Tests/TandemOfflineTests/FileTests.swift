import Foundation
import TandemCore
import TandemOffline
import Testing

@Suite("Files: forecasts, CSV tables and model folders")
struct FileTests {
    @Test("a missing forecast file is a clear error")
    func missingForecast() {
        #expect(throws: StaffingError.unreadableFile(path: "/nonexistent/day.csv", reason: "cannot be read (does it exist?)")) {
            try Forecast.read(path: "/nonexistent/day.csv")
        }
    }

    @Test("a missing CSV file names the file")
    func missingCSV() {
        #expect(throws: CSVTable.FileError.self) { try CSVTable(contentsOfFile: "/nonexistent/train.csv") }
        do {
            _ = try CSVTable(contentsOfFile: "/nonexistent/train.csv")
        } catch {
            #expect("\(error)" == "/nonexistent/train.csv: cannot be read (does it exist?)")
        }
    }

    @Test("a model folder written and read back is the same artifact; a missing or truncated file is named")
    func modelFolder() throws {
        let data = SyntheticIntents.data(perIntent: 40, seed: 4)
        let trained = try Trainer(options: SyntheticIntents.options, clock: ManualClock()).train(data)
        let artifact = ModelArtifact(trained: trained, encoder: "test-encoder@1", data: data, createdAt: ManualClock().now)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-artifact-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try artifact.write(to: folder)
        let loaded = try ModelArtifact.read(from: folder, expectedEncoder: "test-encoder@1")
        #expect(try loaded.files() == artifact.files())

        let weights = folder.appendingPathComponent(ModelArtifact.weightsFile)
        let bytes = try Data(contentsOf: weights)
        try bytes.prefix(bytes.count - 100).write(to: weights)
        #expect { try ModelArtifact.read(from: folder) } throws: { error in
            guard case .corrupt(let file, _)? = error as? ModelArtifact.LoadError else { return false }
            return file == weights.path
        }
        let manifest = folder.appendingPathComponent(ModelArtifact.manifestFile)
        try FileManager.default.removeItem(at: manifest)
        #expect(throws: ModelArtifact.LoadError.missingFile(manifest.path)) { try ModelArtifact.read(from: folder) }
    }
}

@Suite("Reports")
struct ReportTests {
    @Test("the evaluation report's HTML shows intent names as text")
    func reportHTML() throws {
        let trained = try Trainer(options: SyntheticIntents.options, clock: ManualClock()).train(SyntheticIntents.data(perIntent: 60, seed: 6))
        var test = SyntheticIntents.data(perIntent: 10, seed: 7)
        test.labels[0] = "<script>alert(1)</script>"
        let html = Evaluator.evaluate(trained, test: test, heldOut: []).html
        #expect(html.contains("card_arrival"))
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test("HTML escaping makes markup inert")
    func escaping() {
        #expect(escapeHTML("<script>alert('x')</script> & \"q\"") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
    }
}
