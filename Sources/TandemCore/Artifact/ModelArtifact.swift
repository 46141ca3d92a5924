import Crypto
import Foundation
import TandemTensor

/// A trained, calibrated, certified intent model, encoded as two byte strings: `model.json`
/// (what it is, its intents, thresholds, training report and data hash) and
/// `weights.safetensors` (the two heads, the n-gram IDF and the labelled examples'
/// embeddings). The server stores them in the database, `tandem train` in a folder.
/// Decoding checks the format version, the weights' checksum and that the weights match the
/// manifest, and says what to do when they do not.
public struct ModelArtifact: Sendable {
    public static let format = "tandem-intent-model"
    public static let formatVersion = 1
    public static let manifestFile = "model.json"
    public static let weightsFile = "weights.safetensors"

    /// Content identifier: the first 12 hex digits of the weights' SHA-256.
    public var version: String
    public var createdAt: Date
    /// `SentenceEncoder.identifier` of the encoder whose embeddings the model was trained on.
    public var encoder: String
    /// SHA-256 over the training texts and labels.
    public var trainingDataHash: String
    public var model: IntentModel
    public var thresholds: Thresholds
    public var report: TrainingReport
    /// Texts of the labelled examples (row i of the model's memory), for explanations.
    public var exampleTexts: [String]

    /// The two encoded parts, as stored.
    public struct Files: Sendable, Equatable {
        public var manifest: Data
        public var weights: Data
        public init(manifest: Data, weights: Data) {
            self.manifest = manifest
            self.weights = weights
        }
    }

    public init(trained: TrainedModel, encoder: String, data: TrainingData, createdAt: Date) {
        model = trained.model
        thresholds = trained.thresholds
        report = trained.report
        self.encoder = encoder
        self.createdAt = createdAt
        trainingDataHash = Self.hash(texts: data.texts, labels: data.labels)
        exampleTexts = trained.memoryRows.map { data.texts[$0] }
        version = ""
        version = String(Self.sha256((try? weightsData()) ?? Data()).prefix(12))
    }

    public static func hash(texts: [String], labels: [String]) -> String {
        var hasher = SHA256()
        for (text, label) in zip(texts, labels) {
            hasher.update(data: Data(text.utf8)); hasher.update(data: Data([0]))
            hasher.update(data: Data(label.utf8)); hasher.update(data: Data([0x1e]))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: - Writing

    struct Manifest: Codable {
        var format: String
        var formatVersion: Int
        var version: String
        var createdAt: Date
        var encoder: String
        var dimension: Int
        var intents: [String]
        var hyperparameters: Hyperparameters
        var thresholds: Thresholds
        var buckets: Int
        var trainingDataHash: String
        var weightsSHA256: String
        var exampleTexts: [String]
        var spread: [NearestNeighbors.IntentSpread]
        var report: TrainingReport
    }

    func weightsData() throws -> Data {
        var writer = SafetensorsWriter()
        let m = model
        writer.add("semantic.weight", shape: [m.semantic.features, m.semantic.classes], .float32(m.semantic.weights))
        writer.add("semantic.bias", shape: [m.semantic.classes], .float32(m.semantic.bias))
        writer.add("lexical.weight", shape: [m.lexical.features, m.lexical.classes], .float32(m.lexical.weights))
        writer.add("lexical.bias", shape: [m.lexical.classes], .float32(m.lexical.bias))
        writer.add("lexical.idf", shape: [m.featurizer.columns], .float32(m.featurizer.idf))
        writer.add("memory.embeddings", shape: [m.memory.embeddings.rows, m.memory.embeddings.columns], .float32(m.memory.embeddings.values))
        writer.add("memory.labels", shape: [m.memory.labels.count], .int32(m.memory.labels.map(Int32.init)))
        writer.metadata = ["format": Self.format]
        return try writer.data()
    }

    /// The manifest and the weights, encoded.
    public func files() throws -> Files {
        let weights = try weightsData()
        let manifest = Manifest(
            format: Self.format, formatVersion: Self.formatVersion, version: version, createdAt: createdAt, encoder: encoder,
            dimension: model.semantic.features, intents: model.intents, hyperparameters: model.hyperparameters, thresholds: thresholds,
            buckets: model.featurizer.buckets, trainingDataHash: trainingDataHash, weightsSHA256: Self.sha256(weights),
            exampleTexts: exampleTexts, spread: model.memory.spread, report: report)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return Files(manifest: try encoder.encode(manifest), weights: weights)
    }

    /// The manifest with every example text in `texts` replaced by `replacement`, and how many
    /// were replaced. Erasing a customer's messages removes them from stored models without a
    /// retrain: the texts only explain decisions (nearest examples); the weights and example
    /// embeddings are unchanged, so the version and the weights' checksum still hold.
    public static func redactingExampleTexts(manifest: Data, _ texts: Set<String>, replacement: String) throws -> (manifest: Data, redacted: Int) {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var decoded = try decoder.decode(Manifest.self, from: manifest)
        var redacted = 0
        for i in decoded.exampleTexts.indices where texts.contains(decoded.exampleTexts[i]) {
            decoded.exampleTexts[i] = replacement
            redacted += 1
        }
        guard redacted > 0 else { return (manifest, 0) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return (try encoder.encode(decoded), redacted)
    }

    // MARK: - Reading

    public enum LoadError: Error, Equatable, LocalizedError {
        case missingFile(String)
        case corrupt(file: String, reason: String)
        case incompatibleFormat(file: String, found: String)
        case encoderMismatch(artifact: String, current: String)

        public var errorDescription: String? {
            switch self {
            case .missingFile(let path):
                return "\(path) is missing: not a Tandem model folder (create one with `tandem train`)"
            case .corrupt(let file, let reason):
                return "\(file) is corrupt: \(reason); retrain with `tandem train` or restore the folder from a backup"
            case .incompatibleFormat(let file, let found):
                return "\(file) is \(found), this Tandem reads \(ModelArtifact.format) version \(ModelArtifact.formatVersion); retrain the model with this version"
            case .encoderMismatch(let artifact, let current):
                return "the model was trained on embeddings from \(artifact) but the encoder in use is \(current); retrain, or point TANDEM_MODEL_DIR at the encoder it was trained with"
            }
        }
    }

    /// Decodes the two parts. With `expectedEncoder`, refuses a model trained on other
    /// embeddings. `names` say where the parts came from, for the errors.
    public init(files: Files, expectedEncoder: String? = nil,
                names: (manifest: String, weights: String) = (ModelArtifact.manifestFile, ModelArtifact.weightsFile)) throws {
        let manifestName = names.manifest, weightsName = names.weights
        let manifestData = files.manifest, weightsData = files.weights
        // The format comes first, so that a future format gets a clear message rather than a decoding error.
        struct Header: Decodable { var format: String?; var formatVersion: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: manifestData) else {
            throw LoadError.corrupt(file: manifestName, reason: "not valid JSON")
        }
        guard header.format == Self.format, header.formatVersion == Self.formatVersion else {
            throw LoadError.incompatibleFormat(file: manifestName, found: "\(header.format ?? "no format") version \(header.formatVersion.map(String.init) ?? "?")")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let manifest: Manifest
        do { manifest = try decoder.decode(Manifest.self, from: manifestData) } catch {
            throw LoadError.corrupt(file: manifestName, reason: "fields missing or of the wrong type (\(error))")
        }
        guard Self.sha256(weightsData) == manifest.weightsSHA256 else {
            throw LoadError.corrupt(file: weightsName, reason: "SHA-256 does not match the manifest (truncated or modified)")
        }
        if let expectedEncoder, expectedEncoder != manifest.encoder {
            throw LoadError.encoderMismatch(artifact: manifest.encoder, current: expectedEncoder)
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(data: weightsData, name: weightsName) } catch {
            throw LoadError.corrupt(file: weightsName, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        let k = manifest.intents.count, d = manifest.dimension, columns = 2 * manifest.buckets
        let model: IntentModel
        do {
            let memoryRows = file.tensors["memory.labels"]?.shape.first ?? -1
            let semantic = SoftmaxRegression(features: d, classes: k,
                                             weights: Array(try file.float32("semantic.weight", shape: [d, k]).buffer),
                                             bias: Array(try file.float32("semantic.bias", shape: [k]).buffer))
            let lexical = SoftmaxRegression(features: columns, classes: k,
                                            weights: Array(try file.float32("lexical.weight", shape: [columns, k]).buffer),
                                            bias: Array(try file.float32("lexical.bias", shape: [k]).buffer))
            let featurizer = LexicalFeaturizer(buckets: manifest.buckets, idf: Array(try file.float32("lexical.idf", shape: [columns]).buffer))
            let labels = try file.int32("memory.labels", shape: [memoryRows]).map(Int.init)
            guard labels.allSatisfy({ $0 >= 0 && $0 < k }), manifest.exampleTexts.count == memoryRows else {
                throw LoadError.corrupt(file: weightsName, reason: "example labels or texts do not match the intents")
            }
            let memory = NearestNeighbors(
                embeddings: Matrix(rows: memoryRows, columns: d, values: Array(try file.float32("memory.embeddings", shape: [memoryRows, d]).buffer)),
                labels: labels, classes: k, neighbours: manifest.hyperparameters.neighbours, spread: manifest.spread)
            model = IntentModel(intents: manifest.intents, semantic: semantic, lexical: lexical, featurizer: featurizer,
                                memory: memory, hyperparameters: manifest.hyperparameters)
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError.corrupt(file: weightsName, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        self.init(version: manifest.version, createdAt: manifest.createdAt, encoder: manifest.encoder,
                  trainingDataHash: manifest.trainingDataHash, model: model, thresholds: manifest.thresholds,
                  report: manifest.report, exampleTexts: manifest.exampleTexts)
    }

    init(version: String, createdAt: Date, encoder: String, trainingDataHash: String, model: IntentModel,
         thresholds: Thresholds, report: TrainingReport, exampleTexts: [String]) {
        self.version = version
        self.createdAt = createdAt
        self.encoder = encoder
        self.trainingDataHash = trainingDataHash
        self.model = model
        self.thresholds = thresholds
        self.report = report
        self.exampleTexts = exampleTexts
    }
}
