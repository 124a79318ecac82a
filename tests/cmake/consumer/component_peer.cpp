// switchboard::peer links: a host peer is made (GStreamer's elements found)
// and knows no peers before it joins.
#include <switchboard/peer.hpp>

int main() {
    switchboard::Hub hub;
    switchboard::peer::HostPeer host(hub);
    return host.peers().empty() ? 0 : 1;
}
