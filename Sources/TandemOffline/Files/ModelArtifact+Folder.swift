import Foundation
import TandemCore

/// A model artifact as a folder: the two parts of `ModelArtifact.Files` as `model.json` and
/// `weights.safetensors`, which is what `tandem train` writes and `tandem evaluate` reads.
extension ModelArtifact {
    /// Writes the two files into `directory` (created if needed), replacing earlier ones.
    public func write(to directory: URL) throws {
        let files = try files()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try files.weights.write(to: directory.appendingPathComponent(Self.weightsFile), options: .atomic)
        try files.manifest.write(to: directory.appendingPathComponent(Self.manifestFile), options: .atomic)
    }

    /// Reads a model folder. With `expectedEncoder`, refuses a model trained on other embeddings.
    public static func read(from directory: URL, expectedEncoder: String? = nil) throws -> ModelArtifact {
        let manifest = directory.appendingPathComponent(manifestFile).path
        let weights = directory.appendingPathComponent(weightsFile).path
        guard let manifestData = FileManager.default.contents(atPath: manifest) else { throw LoadError.missingFile(manifest) }
        guard let weightsData = FileManager.default.contents(atPath: weights) else { throw LoadError.missingFile(weights) }
        return try ModelArtifact(files: Files(manifest: manifestData, weights: weightsData), expectedEncoder: expectedEncoder,
                                 names: (manifest, weights))
    }
}
