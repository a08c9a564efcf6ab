"""Test hosts in network namespaces: a server and a client namespace joined
by a veth pair, set up for ringtrackd's XDP program on the server's end.
Only link-local and ULA addresses are used there."""
import re
import subprocess
import sys


def sh(*args, check_rc=True):
    """Runs a command; with check_rc a failure ends the test, naming it."""
    p = subprocess.run(args, capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        sys.exit("command failed: %s\n%s" % (" ".join(args), p.stderr))
    return p


def make_xdp_veth(srv_ns, cli_ns, srv_if, cli_if, addrs, native, bpf_obj=None):
    """Makes both namespaces and the veth pair between them. `addrs` lists
    (server address, client address, "/prefix", nodad) to put on the pair.
    The server namespace forwards (the FIB helper the program routes its
    in-kernel replies with answers only there) and knows the client's MAC
    as a neighbour; for native mode the client's end gets `bpf_obj`'s
    "xdp" section (native XDP on veth needs a program on the peer) and its
    TX checksum offload off. Delete both namespaces with remove_xdp_veth()."""
    sh("ip", "netns", "add", srv_ns)
    sh("ip", "netns", "add", cli_ns)
    sh("ip", "link", "add", srv_if, "type", "veth", "peer", "name", cli_if)
    sh("ip", "link", "set", srv_if, "netns", srv_ns)
    sh("ip", "link", "set", cli_if, "netns", cli_ns)
    for ns, ifname, side in ((srv_ns, srv_if, 0), (cli_ns, cli_if, 1)):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        for a in addrs:
            sh("ip", "-n", ns, "addr", "add", a[side] + a[2], "dev", ifname,
               *(("nodad",) if a[3] else ()))
        sh("ip", "-n", ns, "link", "set", ifname, "up")
    sh("ip", "netns", "exec", srv_ns, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    sh("ip", "netns", "exec", srv_ns, "sysctl", "-qw", "net.ipv4.conf.all.forwarding=1")
    cli_mac = re.search(r"link/ether (\S+)",
                        sh("ip", "-n", cli_ns, "link", "show", cli_if).stdout).group(1)
    for a in addrs:
        sh("ip", "-n", srv_ns, "neigh", "replace", a[1], "lladdr", cli_mac, "dev", srv_if)
    if native:
        sh("ip", "-n", cli_ns, "link", "set", "dev", cli_if, "xdpdrv",
           "obj", bpf_obj, "sec", "xdp")
        sh("ip", "netns", "exec", cli_ns, "ethtool", "-K", cli_if, "tx", "off")


def remove_xdp_veth(srv_ns, cli_ns):
    sh("ip", "netns", "del", srv_ns, check_rc=False)
    sh("ip", "netns", "del", cli_ns, check_rc=False)
