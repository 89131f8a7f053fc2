package pipeline

import "fmt"

// Cookie layout (64 bits):
//
//	63..56  0xc7, marks a flow as chainwire's (read-back and cleanup only
//	        ever touch flows with this byte)
//	55..48  feature that made the flow (Feature*)
//	47..40  object kind (Kind*)
//	39..0   object id: a switch's key, switch key << 16 | port key, or
//	        chain key << 16 | classifier key
//
// So `ovs-ofctl dump-flows br-int cookie=0xc703020000010002/-1` lists the
// port-security flows of port 2 on switch 1, and the mask
// 0xff00ffffffffffff drops the feature byte to list all of a port's flows.
const (
	CookieMarker     uint64 = 0xc7 << 56
	CookieMarkerMask uint64 = 0xff << 56
	CookieObjectMask uint64 = 0xff00ffffffffffff
)

// Feature is the part of the renderer that made a flow.
type Feature uint8

const (
	FeatureBase     Feature = 1 // table defaults and global drops
	FeaturePhysical Feature = 2 // phy_to_log, local_output, log_to_phy
	FeaturePortSec  Feature = 3
	FeatureL2       Feature = 4 // l2_lkup and multicast groups
	FeatureTunnel   Feature = 5
	FeatureChain    Feature = 6  // service chains
	FeatureACL      Feature = 7  // pre_acl, pre_stateful, acl, stateful
	FeatureQoS      Feature = 8  // qos_mark
	FeatureARPRsp   Feature = 9  // arp_rsp: ARP and ND answers
	FeatureDHCP     Feature = 10 // dhcp_options, dns_lookup
	FeatureLB       Feature = 11 // pre_lb, lb, stateful of load balancers
	FeatureRouter   Feature = 12 // lr_* tables, router-type switch ports
)

// Kind is the kind of object a flow belongs to.
type Kind uint8

const (
	KindGlobal Kind = 0
	KindSwitch Kind = 1
	KindPort   Kind = 2
	// KindClassifier: id = chain key << 16 | classifier key.
	KindClassifier Kind = 3
	// KindACL: id = the ACL's key.
	KindACL Kind = 4
	// KindQoS: id = the QoS rule's key.
	KindQoS Kind = 5
	// KindLB: id = the load balancer's key << 24 | switch key.
	KindLB Kind = 6
	// KindRouter: id = the router's key << 16 | router port key (0: the
	// router's own, static routes).
	KindRouter Kind = 7
)

// MakeCookie builds a cookie for a feature and an object.
func MakeCookie(f Feature, k Kind, id uint64) uint64 {
	return CookieMarker | uint64(f)<<48 | uint64(k)<<40 | id&(1<<40-1)
}

// SwitchCookie is the cookie of a switch-wide flow.
func SwitchCookie(f Feature, dp uint32) uint64 { return MakeCookie(f, KindSwitch, uint64(dp)) }

// PortCookie is the cookie of a port's flow.
func PortCookie(f Feature, dp, port uint32) uint64 {
	return MakeCookie(f, KindPort, uint64(dp)<<16|uint64(port))
}

// IsOurs reports whether a cookie carries chainwire's marker.
func IsOurs(cookie uint64) bool { return cookie&CookieMarkerMask == CookieMarker }

// DescribeCookie explains a cookie in words (for logs and errors).
func DescribeCookie(c uint64) string {
	if !IsOurs(c) {
		return fmt.Sprintf("foreign cookie 0x%x", c)
	}
	f, k, id := Feature(c>>48&0xff), Kind(c>>40&0xff), c&(1<<40-1)
	names := map[Feature]string{FeatureBase: "base", FeaturePhysical: "physical",
		FeaturePortSec: "port-security", FeatureL2: "l2", FeatureTunnel: "tunnel", FeatureChain: "chain", FeatureACL: "acl", FeatureQoS: "qos", FeatureARPRsp: "arp-responder", FeatureDHCP: "dhcp-dns", FeatureLB: "lb", FeatureRouter: "router"}
	switch k {
	case KindSwitch:
		return fmt.Sprintf("%s of switch key %d", names[f], id)
	case KindPort:
		return fmt.Sprintf("%s of port key %d on switch key %d", names[f], id&0xffff, id>>16)
	case KindClassifier:
		return fmt.Sprintf("%s of classifier key %d on chain key %d", names[f], id&0xffff, id>>16)
	case KindACL:
		return fmt.Sprintf("%s of ACL key %d", names[f], id)
	case KindQoS:
		return fmt.Sprintf("%s of QoS rule key %d", names[f], id)
	case KindLB:
		return fmt.Sprintf("%s of load balancer key %d on switch key %d", names[f], id>>24, id&0xffffff)
	case KindRouter:
		return fmt.Sprintf("%s of router port key %d on router key %d", names[f], id&0xffff, id>>16)
	}
	return names[f]
}
