import Foundation
import TandemCore

extension CSVTable {
    /// Reads and parses a file; errors name the file.
    public init(contentsOfFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError.unreadable(path: path)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw FileError.notUTF8(path: path) }
        do {
            try self.init(parsing: text)
        } catch let error as ParseError {
            throw FileError.invalid(path: path, error)
        }
    }

    public enum FileError: Error, CustomStringConvertible, LocalizedError {
        case unreadable(path: String)
        case notUTF8(path: String)
        case invalid(path: String, ParseError)

        public var description: String {
            switch self {
            case .unreadable(let path): return "\(path): cannot be read (does it exist?)"
            case .notUTF8(let path): return "\(path): not UTF-8 text"
            case .invalid(let path, let error): return "\(path): \(error)"
            }
        }
        public var errorDescription: String? { description }
    }
}
