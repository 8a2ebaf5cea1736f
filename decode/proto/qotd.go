package proto

// QOTD, port 17: Quote of the Day (RFC 865). A QOTD server answers any datagram sent to its
// port, whatever the datagram holds, with a quote of up to 512 characters of text: a request
// of one byte (or none) brings back hundreds, 140 times on average (US-CERT). It has no use on
// the Internet, and the servers that still answer are reflectors.
//
// Sources: RFC 865; US-CERT TA14-017A, which lists QOTD among the UDP amplification
// protocols.

// QOTDPort is the QOTD server port (RFC 865).
const QOTDPort = 17

// VectorQOTD is QOTD's one vector: any datagram, answered with a quote.
const VectorQOTD = 0

// QOTDProtocol is QOTD's entry in the table.
var QOTDProtocol = Protocol{
	Name:  "qotd",
	Ports: []uint16{QOTDPort},
	Vectors: []Vector{
		VectorQOTD: {Name: "qotd/any", Remediation: "Disable the QOTD service (inetd/xinetd 'qotd' or 'quote', Windows " +
			"'Simple TCP/IP Services'): it has no use on the Internet."},
	},
	// Any datagram to port 17 is a request (RFC 865 ignores its content), and one from port
	// 17 that carries text is the quote, the amplifying reply.
	Classify: classifyByPort(QOTDPort, VectorQOTD),
}
