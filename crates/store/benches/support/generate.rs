//! The generated configuration both object benchmarks load.

/// A pjsip.conf with `n` endpoints, each with an aor and an auth, stamped from
/// templates as real deployments are.
pub fn pjsip_conf(n: usize) -> String {
    let mut s = String::with_capacity(n * 260);
    s.push_str(
        "[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0\n\n\
         [endpoint-tpl](!)\ntype=endpoint\ncontext=phones\ndisallow=all\nallow=ulaw,alaw,g722\n\
         direct_media=no\nrtp_symmetric=yes\nforce_rport=yes\nrewrite_contact=yes\ntransport=transport-udp\n\n\
         [aor-tpl](!)\ntype=aor\nmax_contacts=1\nremove_existing=yes\nqualify_frequency=60\n\n\
         [auth-tpl](!)\ntype=auth\nauth_type=userpass\n\n",
    );
    for i in 0..n {
        let id = 100_000 + i;
        s.push_str(&format!(
            "[{id}](endpoint-tpl)\naors={id}\nauth={id}\ncallerid=\"Phone {id}\" <{id}>\n\n\
             [{id}](aor-tpl)\n\n\
             [{id}](auth-tpl)\nusername={id}\npassword=pw{id}x\n\n"
        ));
    }
    s
}
