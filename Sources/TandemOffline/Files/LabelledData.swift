import Foundation
import TandemCore

/// Labelled messages read from a CSV file.
public struct LabelledData: Sendable {
    public var texts: [String]
    public var labels: [String]

    public enum ReadError: Error, LocalizedError {
        case emptyField(path: String, line: Int, column: String)
        case noRows(path: String)

        public var errorDescription: String? {
            switch self {
            case .emptyField(let path, let line, let column): return "\(path): line \(line): the \(column) column is empty"
            case .noRows(let path): return "\(path): no data rows after the header"
            }
        }
    }

    /// Reads `textColumn` and `labelColumn`; a row with an empty text or label is an error
    /// naming the line, so nothing is silently dropped.
    public static func read(path: String, textColumn: String = "text", labelColumn: String = "category") throws -> LabelledData {
        let table = try CSVTable(contentsOfFile: path)
        let textIndex: Int, labelIndex: Int
        do {
            textIndex = try table.columnIndex(textColumn)
            labelIndex = try table.columnIndex(labelColumn)
        } catch let error as CSVTable.ParseError {
            throw CSVTable.FileError.invalid(path: path, error)
        }
        guard !table.rows.isEmpty else { throw ReadError.noRows(path: path) }
        var texts: [String] = [], labels: [String] = []
        for (row, line) in zip(table.rows, table.lineNumbers) {
            let text = row[textIndex].trimmingCharacters(in: .whitespacesAndNewlines)
            let label = row[labelIndex].trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw ReadError.emptyField(path: path, line: line, column: textColumn) }
            guard !label.isEmpty else { throw ReadError.emptyField(path: path, line: line, column: labelColumn) }
            texts.append(text)
            labels.append(label)
        }
        return LabelledData(texts: texts, labels: labels)
    }
}
