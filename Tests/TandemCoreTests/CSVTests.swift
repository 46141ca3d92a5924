import Testing
@testable import TandemCore

@Suite("CSV")
struct CSVTests {
    @Test("quoted fields, doubled quotes, CRLF and embedded newlines")
    func parses() throws {
        let table = try CSVTable(parsing: "text,category\r\n\"Hello, world\",greet\r\n\"She said \"\"hi\"\"\nthen left\",story\nplain,x\n")
        #expect(table.header == ["text", "category"])
        #expect(table.rows == [["Hello, world", "greet"], ["She said \"hi\"\nthen left", "story"], ["plain", "x"]])
        #expect(table.lineNumbers == [2, 3, 5])
        #expect(try table.column("category") == ["greet", "story", "x"])
        #expect(try CSVTable(parsing: table.rendered()) == table)
    }

    @Test("errors name the line", arguments: [
        ("a,b\n1,2,3\n", CSVTable.ParseError.wrongFieldCount(line: 2, expected: 2, found: 3)),
        ("a,b\n\"open,1\n", CSVTable.ParseError.unterminatedQuote(line: 2)),
        ("a,b\nx\"y,1\n", CSVTable.ParseError.unexpectedQuote(line: 2)),
        ("", CSVTable.ParseError.empty),
    ])
    func errors(_ text: String, _ expected: CSVTable.ParseError) {
        #expect(throws: expected) { try CSVTable(parsing: text) }
    }

    @Test("a missing column lists the columns there are")
    func missingColumn() throws {
        let table = try CSVTable(parsing: "text,label\na,b\n")
        #expect(throws: CSVTable.ParseError.missingColumn("category", available: ["text", "label"])) { try table.column("category") }
    }
}
