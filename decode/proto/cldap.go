package proto

// CLDAP, port 389: connectionless LDAP, which Active Directory domain controllers answer for
// the "LDAP ping" that locates them. A search of the root DSE (an empty base object) is
// answered with the server's whole root entry: naming contexts, supported controls and
// capabilities, 2,000 to 3,000 bytes for a request of 50 to 80, 46 to 55 times (US-CERT). A
// domain member's LDAP ping searches the root DSE too, but asks for the Netlogon attribute
// alone and gets a couple of hundred bytes back.
//
// Sources: RFC 1798 (CLDAP; its LDAPMessage may carry a user name before the operation),
// RFC 4511 sections 4.1.1 and 4.5 (LDAPMessage, SearchRequest [APPLICATION 3],
// SearchResultEntry [APPLICATION 4], SearchResultDone [APPLICATION 5]), [MS-ADTS] 6.3.3 (LDAP
// ping), US-CERT TA14-017A, Akamai SIRT's CLDAP reflection advisory (2016), nmap's
// nmap-payloads (the root DSE probe), Wireshark's epan/dissectors/packet-ldap.c.

// CLDAPPort is the LDAP port, which CLDAP shares over UDP (RFC 1798 section 3).
const CLDAPPort = 389

// VectorCLDAPRootDSE is CLDAP's one vector: a search of the root DSE.
const VectorCLDAPRootDSE = 0

// The LDAPMessage protocolOp tags (RFC 4511 section 4.2: [APPLICATION n], constructed).
const (
	ldapSearchRequest = 0x63
	ldapSearchEntry   = 0x64
	ldapSearchDone    = 0x65
	// ldapBigEntry is where a search result entry becomes the root DSE's rather than an LDAP
	// ping's answer, which is a couple of hundred bytes.
	ldapBigEntry = 1000
)

// CLDAPProtocol is CLDAP's entry in the table.
var CLDAPProtocol = Protocol{
	Name:  "cldap",
	Ports: []uint16{CLDAPPort},
	Vectors: []Vector{
		VectorCLDAPRootDSE: {Name: "cldap/rootdse", Remediation: "Block UDP port 389 at the border: CLDAP serves the domain's own members " +
			"only, and domain controllers must not be reachable from the Internet over it."},
	},
	Classify: classifyCLDAP,
	Thresholds: Thresholds{
		// Every domain member pings its domain controllers at logon and every few
		// minutes: a controller of a large domain receives thousands of them a minute.
		RequestFloodMinRequests: 10_000,
	},
}

// classifyCLDAP reads the head of an LDAPMessage: a search request with an empty base object
// sent to port 389 is a request; a search result entry sent from it is a reply, with data
// when it is as large as a root DSE, and a search result done that comes alone, without an
// entry, refuses.
func classifyCLDAP(m *Message) {
	op, r, ok := ldapOperation(m.Payload)
	if !ok {
		return
	}
	switch {
	case op == ldapSearchRequest && m.DstPort == CLDAPPort:
		// SearchRequest ::= [APPLICATION 3] SEQUENCE { baseObject LDAPDN, ... }
		if tag, n, _, ok := r.next(); ok && tag == 0x04 && n == 0 {
			m.Dir, m.Vector = DirRequest, VectorCLDAPRootDSE
		}
	case op == ldapSearchEntry && m.SrcPort == CLDAPPort:
		m.Dir, m.Vector = DirResponse, VectorCLDAPRootDSE
		m.Data = m.Len >= ldapBigEntry
	case op == ldapSearchDone && m.SrcPort == CLDAPPort:
		m.Dir, m.Vector, m.Refusal = DirResponse, VectorCLDAPRootDSE, true
	}
	m.Partial = len(m.Payload) < m.Len
}

// ldapOperation reads an LDAPMessage (RFC 4511 section 4.1.1, and RFC 1798's optional user
// name) up to its protocolOp, returning the operation's tag and the reader of its contents.
func ldapOperation(b []byte) (op byte, contents ber, ok bool) {
	tag, _, r, ok := ber{b}.next()
	if !ok || tag != 0x30 {
		return 0, r, false
	}
	if _, r, ok = r.int(); !ok { // messageID
		return 0, r, false
	}
	tag, n, r, ok := r.next()
	if ok && tag == 0x04 { // CLDAP's user name (RFC 1798 section 3.2)
		if r, ok = r.skip(n); !ok {
			return 0, r, false
		}
		tag, _, r, ok = r.next()
	}
	return tag, r, ok
}
