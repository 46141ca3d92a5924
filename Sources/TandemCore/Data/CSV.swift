import Foundation

/// RFC 4180 CSV: fields separated by commas, optionally quoted with `"`, quotes doubled
/// inside quoted fields, records ended by LF or CRLF. Errors say on which line.
public struct CSVTable: Equatable, Sendable {
    public let header: [String]
    public let rows: [[String]]
    /// The 1-based line on which each row starts (for error messages).
    public let lineNumbers: [Int]

    public enum ParseError: Error, Equatable, CustomStringConvertible, Sendable {
        case empty
        case unterminatedQuote(line: Int)
        case unexpectedQuote(line: Int)
        case wrongFieldCount(line: Int, expected: Int, found: Int)
        case missingColumn(String, available: [String])

        public var description: String {
            switch self {
            case .empty: return "the file is empty (expected a header line)"
            case .unterminatedQuote(let line): return "line \(line): a quoted field is never closed"
            case .unexpectedQuote(let line): return "line \(line): a quote appears inside an unquoted field"
            case .wrongFieldCount(let line, let expected, let found): return "line \(line): \(found) fields, the header has \(expected)"
            case .missingColumn(let name, let available): return "no column '\(name)' (columns: \(available.joined(separator: ", ")))"
            }
        }
    }

    public init(header: [String], rows: [[String]], lineNumbers: [Int]? = nil) {
        self.header = header
        self.rows = rows
        self.lineNumbers = lineNumbers ?? rows.indices.map { $0 + 2 }
    }

    public init(parsing text: String) throws {
        var records: [[String]] = []
        var lines: [Int] = []
        var field = ""
        var record: [String] = []
        var inQuotes = false
        var fieldWasQuoted = false
        var line = 1
        var recordLine = 1
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let after = next() {
                        if after == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = after }
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case ",":
                record.append(field); field = ""; fieldWasQuoted = false
            case "\"":
                guard field.isEmpty && !fieldWasQuoted else { throw ParseError.unexpectedQuote(line: line) }
                inQuotes = true; fieldWasQuoted = true
            case "\r":
                continue
            case "\n":
                record.append(field); field = ""; fieldWasQuoted = false
                if !(record.count == 1 && record[0].isEmpty) { records.append(record); lines.append(recordLine) }
                record = []
                line += 1
                recordLine = line
            default:
                if fieldWasQuoted { throw ParseError.unexpectedQuote(line: line) }
                field.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw ParseError.unterminatedQuote(line: recordLine) }
        if !field.isEmpty || !record.isEmpty || fieldWasQuoted {
            record.append(field)
            records.append(record); lines.append(recordLine)
        }
        guard let header = records.first else { throw ParseError.empty }
        let cleanedHeader = header.map { $0.trimmingBOM() }
        for (record, number) in zip(records.dropFirst(), lines.dropFirst()) where record.count != header.count {
            throw ParseError.wrongFieldCount(line: number, expected: header.count, found: record.count)
        }
        self.init(header: cleanedHeader, rows: Array(records.dropFirst()), lineNumbers: Array(lines.dropFirst()))
    }

    public func columnIndex(_ name: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else { throw ParseError.missingColumn(name, available: header) }
        return index
    }

    public func column(_ name: String) throws -> [String] {
        let index = try columnIndex(name)
        return rows.map { $0[index] }
    }

    /// Renders as CSV, quoting only where needed.
    public func rendered() -> String {
        ([header] + rows).map { $0.map(Self.escape).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    public static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

private extension String {
    func trimmingBOM() -> String { hasPrefix("\u{FEFF}") ? String(dropFirst()) : self }
}
