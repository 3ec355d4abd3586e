//! What a scripted peer does at the link layer for a stack that keeps its own neighbour cache
//! (no static entries): it introduces itself with an ARP request before its first packet, and
//! answers the stack's ARP requests for its address (RFC 826).

use stack::wire::{
    build_arp_frame, parse_frame, ArpOperation, ArpRepr, ChecksumMode, EtherType, EthernetAddress,
    EthernetRepr, Frame, Ipv4Addr,
};

/// Whether `frame` is an ARP frame (by EtherType).
pub fn is_arp(frame: &[u8]) -> bool {
    frame.get(12..14) == Some(&[0x08, 0x06][..])
}

/// The peer's ARP request for `target`: what a real peer sends before its first packet to the
/// stack, and what lets the stack learn the peer (RFC 826 merge).
pub fn arp_request(mac: EthernetAddress, ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let req = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: ip,
        target_hardware_addr: EthernetAddress::ZERO,
        target_protocol_addr: target,
    };
    let eth = EthernetRepr {
        src_addr: mac,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EtherType::Arp,
    };
    build_arp_frame(&eth, &req)
}

/// The peer's reply to `frame` when it is an ARP request for the peer's address `ip`.
pub fn arp_reply(frame: &[u8], mac: EthernetAddress, ip: Ipv4Addr) -> Option<Vec<u8>> {
    let Ok(Frame::Arp { arp, .. }) = parse_frame(frame, ChecksumMode::Verify) else {
        return None;
    };
    if arp.operation != ArpOperation::Request || arp.target_protocol_addr != ip {
        return None;
    }
    let reply = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: mac,
        source_protocol_addr: ip,
        target_hardware_addr: arp.source_hardware_addr,
        target_protocol_addr: arp.source_protocol_addr,
    };
    let eth = EthernetRepr {
        src_addr: mac,
        dst_addr: arp.source_hardware_addr,
        ethertype: EtherType::Arp,
    };
    Some(build_arp_frame(&eth, &reply))
}
