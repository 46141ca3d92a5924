import Testing
@testable import TandemMail

private func message(_ text: String) -> MailMessage {
    MailMessage(parsing: Array(text.replacingAll("\n", with: "\r\n").utf8))
}

@Suite("Mail parsing")
struct MailParsingTests {
    @Test func gmailMultipartAlternativeReplyThreadsAndStripsQuote() {
        // setup: a Gmail-shaped reply, plain and HTML, quoted-printable, encoded subject
        let raw = """
        Return-Path: <ann@customer.example.test>
        From: =?UTF-8?Q?Ann_M=C3=BCller?= <Ann@Customer.Example.Test>
        To: support@support.example.test
        Subject: =?UTF-8?B?UmU6IE15IGNhcmQgd2FzIGRlY2xpbmVk?=
        Message-ID: <CAF=abc123@mail.gmail.com>
        In-Reply-To: <t-1@support.example.test>
        References: <first@mail.gmail.com>
         <t-1@support.example.test>
        Content-Type: multipart/alternative; boundary="000000000000a1b2"

        --000000000000a1b2
        Content-Type: text/plain; charset="UTF-8"
        Content-Transfer-Encoding: quoted-printable

        It still says declined at the till, caf=C3=A9 on the corner.

        On Wed, 2 Dec 2026 at 14:00, Fernpay Support <support@support.example.test>
        wrote:

        > Hello Ann, please try again.
        > Fernpay

        --000000000000a1b2
        Content-Type: text/html; charset="UTF-8"
        Content-Transfer-Encoding: quoted-printable

        <div dir=3D"ltr">It still says declined</div>

        --000000000000a1b2--
        """
        // act
        let mail = message(raw)
        // validate
        #expect(mail.fromAddress == "ann@customer.example.test")
        #expect(mail.fromName == "Ann Müller")
        #expect(mail.subject == "Re: My card was declined")
        #expect(mail.messageID == "CAF=abc123@mail.gmail.com")
        #expect(mail.inReplyTo == ["t-1@support.example.test"])
        #expect(mail.references == ["first@mail.gmail.com", "t-1@support.example.test"])
        #expect(mail.threadIDs == ["t-1@support.example.test", "first@mail.gmail.com"])
        #expect(mail.newText == "It still says declined at the till, café on the corner.")
        #expect(!mail.isAutomatic)
    }

    @Test func outlookHtmlOnlyWithFromSentBlockAndWindows1252() {
        let raw = """
        From: "Smith, Bob" <bob@customer.example.test>
        Subject: =?iso-8859-1?Q?Refund_f=FCr_order?=
        Message-ID: <AM0PR01MB1234@eurprd01.prod.outlook.com>
        Content-Type: text/html; charset="windows-1252"
        Content-Transfer-Encoding: quoted-printable

        <html><head><style>p {color:red}</style></head><body>
        <p>I haven=92t had my refund &amp; it=92s been 10 days.</p>
        <p>Bob</p>
        <div id=3D"appendonsend"></div>
        <hr>
        <div><b>From:</b> Fernpay Support &lt;support@support.example.test&gt;<br>
        <b>Sent:</b> Tuesday, December 1, 2026 9:00 AM<br>
        <b>Subject:</b> Your refund</div>
        <p>We have issued the refund.</p>
        </body></html>
        """
        let mail = message(raw)
        #expect(mail.fromAddress == "bob@customer.example.test")
        #expect(mail.fromName == "Smith, Bob")
        #expect(mail.subject == "Refund für order")
        #expect(mail.newText == "I haven\u{2019}t had my refund & it\u{2019}s been 10 days.\n\nBob")
        #expect(!mail.text.contains("color:red"))
    }

    @Test func appleMailNestedMixedWithAttachmentBase64AndSignature() {
        let body = Base64.encode(Array("Hi,\n\nHow do I reset my password?\n\nSent from my iPhone\n\n> On 1 Dec 2026, at 10:00, Support wrote:\n> old".utf8))
        let raw = """
        From: Carla <carla@customer.example.test>
        Subject: password
        Message-Id: <9F1E@icloud.com>
        Mime-Version: 1.0 (1.0)
        Content-Type: multipart/mixed; boundary=Apple-Mail-1

        This is a multi-part message in MIME format.
        --Apple-Mail-1
        Content-Type: multipart/alternative; boundary="Apple-Mail-2"

        --Apple-Mail-2
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: base64

        \(body)
        --Apple-Mail-2--

        --Apple-Mail-1
        Content-Type: application/pdf; name="statement.pdf"
        Content-Disposition: attachment; filename="statement.pdf"
        Content-Transfer-Encoding: base64

        JVBERi0xLjQK
        --Apple-Mail-1--
        """
        let mail = message(raw)
        #expect(mail.messageID == "9F1E@icloud.com")
        #expect(mail.newText == "Hi,\n\nHow do I reset my password?")
    }

    @Test func signatureSeparatorAndSignOffAreStripped() {
        #expect(Quoting.strip("My card is lost.\n\nThanks,\nDana\n-- \nDana Lee | ACME\n+44 1234") == "My card is lost.")
        #expect(Quoting.strip("Where is my refund?\n\nBest regards,\nEve Example") == "Where is my refund?")
        // A sign-off on the first line is content.
        #expect(Quoting.strip("Thanks!") == "Thanks!")
        #expect(Quoting.strip("Thanks for the reply, but it still fails") == "Thanks for the reply, but it still fails")
        // Original-message blocks and a reply typed only inside a quote.
        #expect(Quoting.strip("Yes please.\n-----Original Message-----\nFrom: x\nold") == "Yes please.")
        #expect(Quoting.strip("> quoted\nanswer inline\n> more") == "answer inline")
        #expect(Quoting.strip("Le mar. 1 déc. 2026 à 10:00, Support a écrit :\n> vieux") != "")
        #expect(Quoting.strip("Merci beaucoup, ça marche.\n\nLe mar. 1 déc. 2026 à 10:00, Support a écrit :\n> vieux") == "Merci beaucoup, ça marche.")
    }

    @Test func formatFlowedIsUnwrapped() {
        let raw = """
        From: f@customer.example.test
        Content-Type: text/plain; charset=us-ascii; format=flowed; delsp=yes

        This is a long line that was wrapped by the cli 
        ent at seventy-eight characters.
        """
        #expect(message(raw).newText == "This is a long line that was wrapped by the client at seventy-eight characters.")
    }

    @Test func headerUnfoldingAndEncodedWordsAcrossCharsets() {
        #expect(EncodedWords.decode("=?ISO-8859-1?Q?Andr=E9?= Pirard") == "André Pirard")
        #expect(EncodedWords.decode("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=") == "éé")
        #expect(EncodedWords.decode("plain =?utf-8?q?a_b?= tail") == "plain a b tail")
        #expect(EncodedWords.decode("=?windows-1252?Q?=93quoted=94?=") == "\u{201C}quoted\u{201D}")
        #expect(EncodedWords.decode("=?broken") == "=?broken")
        let headers = MailHeaders.parse(Array("Subject: a\r\n  long\r\n\tsubject\r\nX: y\r\n".utf8))
        #expect(headers["subject"] == "a long subject")
        #expect(headers["X"] == "y")
    }

    @Test func latin1AndInvalidUtf8BodiesDecode() {
        let raw: [UInt8] = Array("From: a@b.test\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nCaf".utf8) + [0xE9]
        #expect(MailMessage(parsing: raw).text == "Café")
        let mislabelled: [UInt8] = Array("From: a@b.test\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCaf".utf8) + [0xE9]
        #expect(MailMessage(parsing: mislabelled).text == "Café")
    }

    @Test func bouncesAndAutoRepliesAreMarked() {
        #expect(message("From: a@b.test\nAuto-Submitted: auto-replied\n\nI am away").isAutomatic)
        #expect(message("From: MAILER-DAEMON@b.test\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\n\nfailed\n--x--").isAutomatic)
    }

    @Test func garbledInputNeverCrashes() {
        // setup: a fixed-seed generator so a failure reproduces
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        let fragments = ["Content-Type: multipart/mixed; boundary=b\r\n", "--b\r\n", "--b--\r\n", "=?utf-8?B?", "?=", "=\r\n", "=F", "<", ">",
                         "Content-Transfer-Encoding: base64\r\n", "Content-Transfer-Encoding: quoted-printable\r\n", "\r\n\r\n", "&#x", ";", "<blockquote>",
                         "Content-Type: text/html; charset=windows-1252\r\n", "Message-ID: <", "References: <a@b> <", "From: \"x <y@z", "\r\n ", "format=flowed"]
        for _ in 0..<2_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(next() % 40) {
                if next() % 3 == 0 { bytes += (0..<Int(next() % 16)).map { _ in UInt8(truncatingIfNeeded: next()) } }
                else { bytes += Array(fragments[Int(next() % UInt64(fragments.count))].utf8) }
            }
            // act: must return, whatever it finds
            let mail = MailMessage(parsing: bytes)
            _ = mail.threadIDs
            _ = Quoting.strip(mail.text)
        }
        // Deep nesting is bounded rather than recursed without limit.
        var nested = "Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
        for depth in 1...200 { nested += "--b\(depth - 1)\r\nContent-Type: multipart/mixed; boundary=b\(depth)\r\n\r\n" }
        #expect(MailMessage(parsing: Array(nested.utf8)).text == "")
    }
}

@Suite("Mail composing")
struct MailComposingTests {
    @Test func replyCarriesThreadingHeadersAndRoundTrips() {
        // setup
        let mail = OutboundMail(
            fromAddress: "support@support.example.test", fromName: "Fernpay Support",
            toAddress: "ann@customer.example.test", toName: "Ann Müller",
            subject: OutboundMail.replySubject("Re: RE: Kärte declined"),
            text: "Hello Ann,\n.\nFrom now on it works = yes. Überweisung angekommen.\nLine with trailing space ",
            messageID: OutboundMail.messageID(unique: "5F3C-AA", domain: "support.example.test"),
            inReplyTo: "CAF=abc123@mail.gmail.com", references: ["first@mail.gmail.com"], date: 1_796_222_760, isAutomatic: true)
        // act
        let rendered = mail.rendered()
        let parsed = MailMessage(parsing: Array(rendered.utf8))
        // validate
        #expect(rendered.contains("Message-ID: <5f3c-aa@support.example.test>\r\n"))
        #expect(rendered.contains("In-Reply-To: <CAF=abc123@mail.gmail.com>\r\n"))
        #expect(rendered.contains("Date: Wed, 02 Dec 2026 14:46:00 +0000\r\n"))
        #expect(!rendered.contains("\r\n.\r\n"), "a lone dot would end SMTP DATA")
        #expect(rendered.utf8.allSatisfy { $0 < 128 })
        #expect(parsed.isAutomatic, "the AI's answer is marked so auto-responders do not loop")
        #expect(rendered.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        #expect(parsed.subject == "Re: Kärte declined")
        #expect(parsed.references == ["first@mail.gmail.com", "CAF=abc123@mail.gmail.com"])
        #expect(parsed.inReplyTo == ["CAF=abc123@mail.gmail.com"])
        // The body ends with the line break SMTP needs before its final dot.
        #expect(parsed.text == "Hello Ann,\n.\nFrom now on it works = yes. Überweisung angekommen.\nLine with trailing space \n")
        #expect(HeaderValues.mailbox("=?utf-8?B?QW5uIE3DvGxsZXI=?= <ann@customer.example.test>")?.name == "Ann Müller")
    }

    @Test func headerInjectionIsNeutralised() {
        let mail = OutboundMail(fromAddress: "s@x.test", toAddress: "a@y.test", subject: "hi\r\nBcc: victim@z.test",
                                text: "x", messageID: "m@x.test", date: 0)
        #expect(!mail.rendered().contains("\r\nBcc:"))
        #expect(!mail.rendered().contains("Auto-Submitted"), "a person's reply is not marked automatic")
        #expect(mail.rendered().contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
    }

    @Test func longLinesAreSoftWrapped() {
        let text = String(repeating: "é", count: 100)
        let encoded = QuotedPrintable.encode(text)
        #expect(encoded.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(String(decoding: QuotedPrintable.decode(Array(encoded.utf8)), as: UTF8.self) == text)
    }
}
