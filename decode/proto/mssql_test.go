package proto_test

import (
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
)

// TestMSSQL: the SSRP requests and the browser's answer ([MS-SQLR] section 2.2).
func TestMSSQL(t *testing.T) {
	const port = proto.MSSQLPort
	data := text("ServerName;DB1;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;tcp;1433;;")
	resp := cat([]byte{0x05, byte(len(data)), 0}, data)
	checkVerdicts(t, &proto.MSSQLProtocol, []verdict{
		{name: "CLNT_BCAST_EX (nmap's Sqlping)", sport: victim, dport: port, payload: []byte{0x02}, dir: proto.DirRequest, vector: "mssql/ping"},
		{name: "CLNT_UCAST_EX", sport: victim, dport: port, payload: []byte{0x03}, dir: proto.DirRequest, vector: "mssql/ping"},
		{name: "CLNT_UCAST_INST", sport: client, dport: port, payload: cat([]byte{0x04}, text("SQLEXPRESS\x00")), dir: proto.DirRequest, vector: "mssql/ping"},
		{name: "CLNT_UCAST_DAC", sport: client, dport: port, payload: []byte{0x0f, 0x01, 'X', 0}},
		{name: "SVR_RESP", sport: port, dport: victim, payload: resp, dir: proto.DirResponse, vector: "mssql/ping", data: true},
		{name: "SVR_RESP, first byte only", sport: port, dport: victim, payload: resp[:1], len: len(resp), dir: proto.DirResponse, vector: "mssql/ping", data: true},
		{name: "empty SVR_RESP", sport: port, dport: victim, payload: []byte{0x05, 0, 0}, dir: proto.DirResponse, vector: "mssql/ping"},
		{name: "empty", sport: client, dport: port},
	})
}
