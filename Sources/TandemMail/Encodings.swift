// Transfer encodings (base64, quoted-printable) and charsets, tolerant of what real mail
// clients send: garbage is skipped, never trapped on.

public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let table: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = Int8(i) }
        t[Int(UInt8(ascii: "-"))] = 62 // base64url, seen in the wild
        t[Int(UInt8(ascii: "_"))] = 63
        return t
    }()

    /// Decodes, ignoring line breaks, white space and any byte outside the alphabet; stops at '='.
    public static func decode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for b in bytes {
            if b == UInt8(ascii: "=") { break }
            let v = table[Int(b)]
            if v < 0 { continue }
            buffer = (buffer << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        return out
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = (b0 << 16) | (b1 << 8) | b2
            out.append(alphabet[Int((n >> 18) & 63)])
            out.append(alphabet[Int((n >> 12) & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int((n >> 6) & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

public enum QuotedPrintable {
    /// Decodes `=XX` escapes and soft line breaks (`=` at the end of a line); a malformed escape
    /// is kept as it is. `underscoreIsSpace` is the RFC 2047 "Q" variant.
    public static func decode(_ bytes: [UInt8], underscoreIsSpace: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "=") {
                // Soft break: "=\r\n", "=\n", possibly with trailing white space before it.
                var j = i + 1
                while j < bytes.count, bytes[j] == 32 || bytes[j] == 9 { j += 1 }
                if j < bytes.count, bytes[j] == 10 { i = j + 1; continue }
                if j + 1 < bytes.count, bytes[j] == 13, bytes[j + 1] == 10 { i = j + 2; continue }
                if j == bytes.count { i = j; continue }
                if i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                    out.append(h << 4 | l)
                    i += 3
                    continue
                }
                out.append(b)
                i += 1
                continue
            }
            out.append(underscoreIsSpace && b == UInt8(ascii: "_") ? 32 : b)
            i += 1
        }
        return out
    }

    /// Encodes UTF-8 text for a `Content-Transfer-Encoding: quoted-printable` body: CRLF line
    /// breaks, lines of at most 76 characters, '=' and non-ASCII escaped, trailing white space
    /// escaped, and a leading "." or "From " made harmless for SMTP and mbox.
    public static func encode(_ text: String) -> String {
        var lines: [String] = []
        let normalised = text.replacingAll("\r\n", with: "\n").replacingAll("\r", with: "\n")
        for line in normalised.split(separator: "\n", omittingEmptySubsequences: false) {
            var encoded: [String] = []
            let bytes = Array(line.utf8)
            for (index, b) in bytes.enumerated() {
                let last = index == bytes.count - 1
                let needs = b == UInt8(ascii: "=") || b >= 127 || (b < 32 && b != 9)
                    || (last && (b == 32 || b == 9))
                    || (index == 0 && b == UInt8(ascii: "."))
                    || (index == 0 && b == UInt8(ascii: "F") && line.hasPrefix("From "))
                encoded.append(needs ? escape(b) : String(UnicodeScalar(b)))
            }
            var current = ""
            for token in encoded {
                if current.utf8.count + token.utf8.count > 75 {
                    lines.append(current + "=")
                    current = ""
                }
                current += token
            }
            lines.append(current)
        }
        return lines.joined(separator: "\r\n")
    }

    private static func escape(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "=" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)])
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

/// Bytes to text for the charsets mail actually uses. An unknown charset, or bytes that are
/// not valid in the one named, fall back to UTF-8 with replacement characters, then to
/// windows-1252 when that reads cleaner (mislabelled Western mail is the common case).
public enum Charsets {
    public static func decode(_ bytes: [UInt8], charset: String?) -> String {
        let name = (charset ?? "utf-8").trimmingSpaces().lowercased()
            .replacingAll("\"", with: "").replacingAll("_", with: "-")
        switch name {
        case "iso-8859-1", "latin1", "latin-1", "iso8859-1", "l1", "iso-ir-100", "cp819", "iso-8859-15", "latin9":
            // 8859-15 differs from 8859-1 in eight rarely used positions; read as 8859-1 but map €.
            let euro = name == "iso-8859-15" || name == "latin9"
            return String(String.UnicodeScalarView(bytes.map { euro && $0 == 0xA4 ? "\u{20AC}" : UnicodeScalar($0) }))
        case "windows-1252", "cp1252", "x-cp1252":
            return windows1252(bytes)
        default:
            // utf-8, us-ascii (a subset) and anything unknown.
            if let valid = String(validating: bytes, as: UTF8.self) { return valid }
            if name == "utf-8" || name == "utf8" || name == "us-ascii" || name == "ascii" {
                // Invalid UTF-8 labelled as UTF-8 or ASCII is almost always windows-1252.
                return windows1252(bytes)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static let high1252: [UInt32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    ]

    static func windows1252(_ bytes: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        for b in bytes {
            if b >= 0x80 && b < 0xA0 {
                scalars.append(UnicodeScalar(high1252[Int(b - 0x80)]) ?? "\u{FFFD}")
            } else {
                scalars.append(UnicodeScalar(b))
            }
        }
        return String(scalars)
    }
}
