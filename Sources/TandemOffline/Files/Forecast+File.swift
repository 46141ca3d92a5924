import Foundation
import TandemCore

extension Forecast {
    /// Reads and parses a CSV file.
    /// - Throws: `StaffingError.unreadableFile` when the file cannot be read as UTF-8, else as `parse(csv:)`.
    public static func read(path: String) throws -> Forecast {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StaffingError.unreadableFile(path: path, reason: "cannot be read (does it exist?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw StaffingError.unreadableFile(path: path, reason: "is not UTF-8 text")
        }
        return try parse(csv: text)
    }
}
