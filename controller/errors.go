package controller

import "fmt"

// OFError is an OpenFlow error reply, decoded into words.
type OFError struct {
	Type, Code   uint16
	Experimenter uint32 // for experimenter errors: 0x2320 (Nicira) or ONF
	Data         []byte // the start of the offending message
	// Op describes what the failing message did (a flow, group or meter
	// mod), if known.
	Op    string
	xid   uint32
	meter uint32 // the meter a failed meter mod was about
}

const onfExperimenter = 0x4f4e4600

var errorTypes = map[uint16]string{
	0: "OFPET_HELLO_FAILED", 1: "OFPET_BAD_REQUEST", 2: "OFPET_BAD_ACTION",
	3: "OFPET_BAD_INSTRUCTION", 4: "OFPET_BAD_MATCH", 5: "OFPET_FLOW_MOD_FAILED",
	6: "OFPET_GROUP_MOD_FAILED", 7: "OFPET_PORT_MOD_FAILED", 8: "OFPET_TABLE_MOD_FAILED",
	9: "OFPET_QUEUE_OP_FAILED", 10: "OFPET_SWITCH_CONFIG_FAILED", 11: "OFPET_ROLE_REQUEST_FAILED",
	12: "OFPET_METER_MOD_FAILED", 13: "OFPET_TABLE_FEATURES_FAILED", 0xffff: "OFPET_EXPERIMENTER",
}

var errorCodes = map[uint16][]string{
	1: {"OFPBRC_BAD_VERSION", "OFPBRC_BAD_TYPE", "OFPBRC_BAD_MULTIPART", "OFPBRC_BAD_EXPERIMENTER",
		"OFPBRC_BAD_EXP_TYPE", "OFPBRC_EPERM", "OFPBRC_BAD_LEN", "OFPBRC_BUFFER_EMPTY",
		"OFPBRC_BUFFER_UNKNOWN", "OFPBRC_BAD_TABLE_ID", "OFPBRC_IS_SLAVE", "OFPBRC_BAD_PORT",
		"OFPBRC_BAD_PACKET", "OFPBRC_MULTIPART_BUFFER_OVERFLOW"},
	2: {"OFPBAC_BAD_TYPE", "OFPBAC_BAD_LEN", "OFPBAC_BAD_EXPERIMENTER", "OFPBAC_BAD_EXP_TYPE",
		"OFPBAC_BAD_OUT_PORT", "OFPBAC_BAD_ARGUMENT", "OFPBAC_EPERM", "OFPBAC_TOO_MANY",
		"OFPBAC_BAD_QUEUE", "OFPBAC_BAD_OUT_GROUP", "OFPBAC_MATCH_INCONSISTENT",
		"OFPBAC_UNSUPPORTED_ORDER", "OFPBAC_BAD_TAG", "OFPBAC_BAD_SET_TYPE", "OFPBAC_BAD_SET_LEN",
		"OFPBAC_BAD_SET_ARGUMENT"},
	3: {"OFPBIC_UNKNOWN_INST", "OFPBIC_UNSUP_INST", "OFPBIC_BAD_TABLE_ID", "OFPBIC_UNSUP_METADATA",
		"OFPBIC_UNSUP_METADATA_MASK", "OFPBIC_BAD_EXPERIMENTER", "OFPBIC_BAD_EXP_TYPE",
		"OFPBIC_BAD_LEN", "OFPBIC_EPERM"},
	4: {"OFPBMC_BAD_TYPE", "OFPBMC_BAD_LEN", "OFPBMC_BAD_TAG", "OFPBMC_BAD_DL_ADDR_MASK",
		"OFPBMC_BAD_NW_ADDR_MASK", "OFPBMC_BAD_WILDCARDS", "OFPBMC_BAD_FIELD", "OFPBMC_BAD_VALUE",
		"OFPBMC_BAD_MASK", "OFPBMC_BAD_PREREQ", "OFPBMC_DUP_FIELD", "OFPBMC_EPERM"},
	5: {"OFPFMFC_UNKNOWN", "OFPFMFC_TABLE_FULL", "OFPFMFC_BAD_TABLE_ID", "OFPFMFC_OVERLAP",
		"OFPFMFC_EPERM", "OFPFMFC_BAD_TIMEOUT", "OFPFMFC_BAD_COMMAND", "OFPFMFC_BAD_FLAGS"},
	6: {"OFPGMFC_GROUP_EXISTS", "OFPGMFC_INVALID_GROUP", "OFPGMFC_WEIGHT_UNSUPPORTED",
		"OFPGMFC_OUT_OF_GROUPS", "OFPGMFC_OUT_OF_BUCKETS", "OFPGMFC_CHAINING_UNSUPPORTED",
		"OFPGMFC_WATCH_UNSUPPORTED", "OFPGMFC_LOOP", "OFPGMFC_UNKNOWN_GROUP", "OFPGMFC_CHAINED_GROUP",
		"OFPGMFC_BAD_TYPE", "OFPGMFC_BAD_COMMAND", "OFPGMFC_BAD_BUCKET", "OFPGMFC_BAD_WATCH", "OFPGMFC_EPERM"},
	12: {"OFPMMFC_UNKNOWN", "OFPMMFC_METER_EXISTS", "OFPMMFC_INVALID_METER", "OFPMMFC_UNKNOWN_METER",
		"OFPMMFC_BAD_COMMAND", "OFPMMFC_BAD_FLAGS", "OFPMMFC_BAD_RATE", "OFPMMFC_BAD_BURST",
		"OFPMMFC_BAD_BAND", "OFPMMFC_BAD_BAND_VALUE", "OFPMMFC_OUT_OF_METERS", "OFPMMFC_OUT_OF_BANDS"},
}

// Nicira experimenter codes OVS uses on OpenFlow 1.2+ (ofp-errors.h).
var nxCodes = map[uint16]string{
	16: "NXTTMFC_BAD_COMMAND", 17: "NXTTMFC_BAD_OPT_LEN", 18: "NXTTMFC_BAD_FIELD_IDX",
	19: "NXTTMFC_TABLE_FULL", 20: "NXTTMFC_ALREADY_MAPPED", 21: "NXTTMFC_DUP_ENTRY",
	22: "NXFMFC_INVALID_TLV_FIELD",
}

// ONF bundle error codes (EXT-230).
var bundleCodes = map[uint16]string{
	2300: "OFPBFC_UNKNOWN", 2301: "OFPBFC_EPERM", 2302: "OFPBFC_BAD_ID", 2303: "OFPBFC_BUNDLE_EXIST",
	2304: "OFPBFC_BUNDLE_CLOSED", 2305: "OFPBFC_OUT_OF_BUNDLES", 2306: "OFPBFC_BAD_TYPE",
	2307: "OFPBFC_BAD_FLAGS", 2308: "OFPBFC_MSG_BAD_LEN", 2309: "OFPBFC_MSG_BAD_XID",
	2310: "OFPBFC_MSG_UNSUP", 2311: "OFPBFC_MSG_CONFLICT", 2312: "OFPBFC_MSG_TOO_MANY",
	2313: "OFPBFC_MSG_FAILED", 2314: "OFPBFC_TIMEOUT", 2315: "OFPBFC_BUNDLE_IN_PROGRESS",
}

// Name is the symbolic type/code, e.g. "OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ".
func (e *OFError) Name() string {
	t := errorTypes[e.Type]
	if t == "" {
		t = fmt.Sprintf("type %d", e.Type)
	}
	var c string
	switch {
	case e.Type == 0xffff && e.Experimenter == nxVendor:
		c = nxCodes[e.Code]
	case e.Type == 0xffff && e.Experimenter == onfExperimenter:
		c = bundleCodes[e.Code]
	default:
		if codes := errorCodes[e.Type]; int(e.Code) < len(codes) {
			c = codes[e.Code]
		}
	}
	if c == "" {
		c = fmt.Sprintf("code %d", e.Code)
	}
	return t + "/" + c
}

func (e *OFError) Error() string {
	if e.Op != "" {
		return fmt.Sprintf("switch rejected %s: %s", e.Op, e.Name())
	}
	return "switch error: " + e.Name()
}

// Is lets errors.Is compare against a type/code template.
func (e *OFError) Is(target error) bool {
	t, ok := target.(*OFError)
	return ok && t.Type == e.Type && t.Code == e.Code && (t.Experimenter == 0 || t.Experimenter == e.Experimenter)
}

// ErrAlreadyMapped is OVS's answer to a TLV map it already has.
var ErrAlreadyMapped = &OFError{Type: 0xffff, Code: 20, Experimenter: nxVendor}
