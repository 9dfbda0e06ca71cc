//! The realtime SQL schema: the `ps_*` tables Asterisk's realtime wizard reads (spec §4, §5),
//! kept here as plain data, and the DDL that creates them for SQLite, PostgreSQL and
//! MySQL/MariaDB.
//!
//! # Where the data comes from
//!
//! Asterisk creates these tables with Alembic (`contrib/ast-db-manage/config/versions/`).
//! [`TABLES`] is the state after replaying that chain up to revision
//! [`ALEMBIC_REVISION`] (`2285f2ace275`, `ps_transports.external_signaling_hostname`), the
//! head of the snapshot the spec was written from: column names, VARCHAR lengths, numeric
//! types and enum value lists are the ones the migrations leave behind, in the column order
//! a database upgraded step by step ends up with. Keeping the same names, lengths and enum
//! types means one database can be shared with Asterisk, and a database Asterisk created is
//! one we can read as it is.
//!
//! # Where we differ from what Alembic creates, and why
//!
//! * `id` is declared `NOT NULL PRIMARY KEY`. Asterisk declares it `NOT NULL`, `UNIQUE` and
//!   adds a plain index `<table>_id` on it — two indexes that both say "id is unique". A
//!   primary key is the same constraint with one index, so the `<table>_id` indexes are not
//!   created. The other indexes Asterisk creates are kept ([`INDEXES`]).
//! * Enums: PostgreSQL gets the same named `CREATE TYPE … AS ENUM` types; MySQL gets the
//!   inline `ENUM(…)` column types Alembic emits there; SQLite, which has no enum type, gets
//!   `TEXT CHECK (column IN (…))`. The CHECK is deliberate: it makes SQLite accept exactly
//!   the values PostgreSQL and MySQL accept, so a value that works in a test database also
//!   works in production, and a typo (`yse`) fails on insert instead of being read back as
//!   an invalid option at load time. (NULL passes the CHECK, like the nullable enums of the
//!   other two databases.)
//!
//! # Idempotence and upgrades
//!
//! Every statement may be run again: `CREATE TABLE IF NOT EXISTS`, `CREATE INDEX IF NOT
//! EXISTS`, and for PostgreSQL's enum types (`CREATE TYPE` has no `IF NOT EXISTS`) a `DO`
//! block that swallows `duplicate_object`. A table that already exists is never touched by
//! [`create_statements`]; columns it lacks (an older Asterisk revision) are added one by one
//! with [`add_column_statement`]. Nothing here alters or drops an existing column, table or
//! type, so running it against a database Asterisk created is non-destructive.
//!
//! The MySQL dialect is written for MariaDB (10.5 and newer): `CREATE INDEX IF NOT EXISTS`
//! and `ADD COLUMN IF NOT EXISTS` are MariaDB syntax that Oracle MySQL 8 does not accept.

/// The version of Switchboard's own schema bookkeeping, stored in [`VERSION_TABLE`]. Raise it
/// when the tables here change so `db migrate` knows which additions a database has had.
pub const SCHEMA_VERSION: u32 = 1;

/// The table in which Switchboard records which [`SCHEMA_VERSION`]s were applied (one row
/// per version; the current one is the largest).
pub const VERSION_TABLE: &str = "switchboard_schema_version";

/// The table Asterisk's Alembic keeps its revision in (one row, `version_num`). Its presence
/// means Asterisk's tooling manages the database: `db migrate` must then only add what is
/// missing, never alter, drop or re-stamp. Note that a column added by us ahead of
/// Asterisk's own migration makes a later `alembic upgrade` of that revision fail with a
/// duplicate column, so on such a database reporting missing columns may be the better
/// default than adding them.
pub const ALEMBIC_VERSION_TABLE: &str = "alembic_version";

/// The Alembic revision [`TABLES`] corresponds to: a database stamped with it in
/// [`ALEMBIC_VERSION_TABLE`] has exactly these columns.
pub const ALEMBIC_REVISION: &str = "2285f2ace275";

/// A named set of allowed string values (an Alembic `ENUM`).
#[derive(Debug, PartialEq, Eq)]
pub struct Enum {
    /// The type name, as PostgreSQL knows it (MySQL and SQLite do not name enum types).
    pub name: &'static str,
    /// The allowed values, in declaration order.
    pub values: &'static [&'static str],
}

/// The SQL type of one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `VARCHAR(n)`.
    Varchar(u32),
    /// `INTEGER`.
    Integer,
    /// `BIGINT` (only `ps_contacts.expiration_time`, a UNIX time).
    BigInt,
    /// `FLOAT` (the qualify timeouts, in seconds).
    Float,
    /// `TEXT` (unbounded: `set_var`, contact `path`, subscription `generator_data`).
    Text,
    /// A real SQL boolean. Only `ps_transports.tcp_keepalive_enable`, which its migration
    /// (`8fce8496f03e`) declares `sa.Boolean` rather than as an `ast_bool_values` enum like
    /// every other flag; kept so our tables match Asterisk's.
    Boolean,
    /// One of a fixed set of strings.
    Enum(&'static Enum),
}

/// One column: its name and type. Every column is nullable except `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column name (some need quoting: `100rel`, `@body`, `event_asterisk-mwi`).
    pub name: &'static str,
    /// The column type.
    pub ty: ColumnType,
}

impl Column {
    /// Whether this is the primary key. Every table is keyed by its `id` column, the sorcery
    /// object id (spec §4).
    pub fn is_primary_key(&self) -> bool {
        self.name == "id"
    }
}

/// One realtime table.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    /// The table name (the default extconfig family name, e.g. `ps_endpoints`).
    pub name: &'static str,
    /// The columns, `id` first.
    pub columns: &'static [Column],
}

impl Table {
    /// The column called `name`, if the table has one.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A secondary index Asterisk creates (see the module docs for the ones left out).
#[derive(Debug, PartialEq, Eq)]
pub struct Index {
    /// The index name (PostgreSQL index names share the namespace of tables, so they are
    /// prefixed with the table name, as Asterisk does).
    pub name: &'static str,
    /// The indexed table.
    pub table: &'static str,
    /// The indexed columns, in order.
    pub columns: &'static [&'static str],
    /// Whether the index enforces uniqueness.
    pub unique: bool,
}

// ---------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------

/// Booleans: every spelling Asterisk's config parser accepts and writes back.
pub static AST_BOOL_VALUES: Enum = Enum {
    name: "ast_bool_values",
    values: &["0", "1", "off", "on", "false", "true", "no", "yes"],
};

/// The older boolean type. Since revision `74dc751dfe8e` no `ps_*` column uses it any more
/// (it survives in Asterisk's non-PJSIP tables), so it is not created; it is listed so code
/// that inspects an older Asterisk database can recognise it.
pub static YESNO_VALUES: Enum = Enum {
    name: "yesno_values",
    values: &["yes", "no"],
};

/// `connected_line_method` and `direct_media_method`.
pub static PJSIP_CONNECTED_LINE_METHOD_VALUES: Enum = Enum {
    name: "pjsip_connected_line_method_values",
    values: &["invite", "reinvite", "update"],
};

/// `direct_media_glare_mitigation`.
pub static PJSIP_DIRECT_MEDIA_GLARE_MITIGATION_VALUES: Enum = Enum {
    name: "pjsip_direct_media_glare_mitigation_values",
    values: &["none", "outgoing", "incoming"],
};

/// `dtmf_mode` (third version of the type: `auto_info` added). The database type has no
/// `none`, although the option accepts it (spec §2.2).
pub static PJSIP_DTMF_MODE_VALUES_V3: Enum = Enum {
    name: "pjsip_dtmf_mode_values_v3",
    values: &["rfc4733", "inband", "info", "auto", "auto_info"],
};

/// `timers` (the database type has no `always`, the option's alias of `forced`).
pub static PJSIP_TIMER_VALUES: Enum = Enum {
    name: "pjsip_timer_values",
    values: &["forced", "no", "required", "yes"],
};

/// `callerid_privacy`.
pub static PJSIP_CID_PRIVACY_VALUES: Enum = Enum {
    name: "pjsip_cid_privacy_values",
    values: &[
        "allowed_not_screened",
        "allowed_passed_screened",
        "allowed_failed_screened",
        "allowed",
        "prohib_not_screened",
        "prohib_passed_screened",
        "prohib_failed_screened",
        "prohib",
        "unavailable",
    ],
};

/// `100rel` (second version: `peer_supported` added).
pub static PJSIP_100REL_VALUES_V2: Enum = Enum {
    name: "pjsip_100rel_values_v2",
    values: &["no", "required", "peer_supported", "yes"],
};

/// `media_encryption`.
pub static PJSIP_MEDIA_ENCRYPTION_VALUES: Enum = Enum {
    name: "pjsip_media_encryption_values",
    values: &["no", "sdes", "dtls"],
};

/// `t38_udptl_ec`.
pub static PJSIP_T38UDPTL_EC_VALUES: Enum = Enum {
    name: "pjsip_t38udptl_ec_values",
    values: &["none", "fec", "redundancy"],
};

/// `dtls_setup`.
pub static PJSIP_DTLS_SETUP_VALUES: Enum = Enum {
    name: "pjsip_dtls_setup_values",
    values: &["active", "passive", "actpass"],
};

/// `redirect_method`.
pub static PJSIP_REDIRECT_METHOD_VALUES: Enum = Enum {
    name: "pjsip_redirect_method_values",
    values: &["user", "uri_core", "uri_pjsip"],
};

/// `dtls_fingerprint`.
pub static SHA_HASH_VALUES: Enum = Enum {
    name: "sha_hash_values",
    values: &["SHA-1", "SHA-256"],
};

/// `incoming_call_offer_pref`.
pub static PJSIP_INCOMING_CALL_OFFER_PREF_VALUES: Enum = Enum {
    name: "pjsip_incoming_call_offer_pref_values",
    values: &["local", "local_first", "remote", "remote_first"],
};

/// `outgoing_call_offer_pref`.
pub static PJSIP_OUTGOING_CALL_OFFER_PREF_VALUES: Enum = Enum {
    name: "pjsip_outgoing_call_offer_pref_values",
    values: &[
        "local",
        "local_merge",
        "local_first",
        "remote",
        "remote_merge",
        "remote_first",
    ],
};

/// `security_negotiation` of endpoints and registrations.
pub static SECURITY_NEGOTIATION_VALUES: Enum = Enum {
    name: "security_negotiation_values",
    values: &["no", "mediasec"],
};

/// `ps_auths.auth_type` (second version: `google_oauth` added; `digest` is not a database
/// value, spec §5).
pub static PJSIP_AUTH_TYPE_VALUES_V2: Enum = Enum {
    name: "pjsip_auth_type_values_v2",
    values: &["md5", "userpass", "google_oauth"],
};

/// `ps_transports.method` (second version: the TLS 1.x names added).
pub static PJSIP_TRANSPORT_METHOD_VALUES_V2: Enum = Enum {
    name: "pjsip_transport_method_values_v2",
    values: &[
        "default",
        "unspecified",
        "tlsv1",
        "tlsv1_1",
        "tlsv1_2",
        "tlsv1_3",
        "sslv2",
        "sslv23",
        "sslv3",
    ],
};

/// `ps_transports.protocol` (second version: `flow` added).
pub static PJSIP_TRANSPORT_PROTOCOL_VALUES_V2: Enum = Enum {
    name: "pjsip_transport_protocol_values_v2",
    values: &["udp", "tcp", "tls", "ws", "wss", "flow"],
};

/// `ps_globals.taskprocessor_overload_trigger`.
pub static PJSIP_TASKPROCESSOR_OVERLOAD_TRIGGER_VALUES: Enum = Enum {
    name: "pjsip_taskprocessor_overload_trigger_values",
    values: &["none", "global", "pjsip_only"],
};

/// Every enum type a column of [`TABLES`] uses, each once: the types PostgreSQL needs
/// before the tables can be created.
pub static ENUMS: &[&Enum] = &[
    &AST_BOOL_VALUES,
    &PJSIP_CONNECTED_LINE_METHOD_VALUES,
    &PJSIP_DIRECT_MEDIA_GLARE_MITIGATION_VALUES,
    &PJSIP_DTMF_MODE_VALUES_V3,
    &PJSIP_TIMER_VALUES,
    &PJSIP_CID_PRIVACY_VALUES,
    &PJSIP_100REL_VALUES_V2,
    &PJSIP_MEDIA_ENCRYPTION_VALUES,
    &PJSIP_T38UDPTL_EC_VALUES,
    &PJSIP_DTLS_SETUP_VALUES,
    &PJSIP_REDIRECT_METHOD_VALUES,
    &SHA_HASH_VALUES,
    &PJSIP_INCOMING_CALL_OFFER_PREF_VALUES,
    &PJSIP_OUTGOING_CALL_OFFER_PREF_VALUES,
    &SECURITY_NEGOTIATION_VALUES,
    &PJSIP_AUTH_TYPE_VALUES_V2,
    &PJSIP_TRANSPORT_METHOD_VALUES_V2,
    &PJSIP_TRANSPORT_PROTOCOL_VALUES_V2,
    &PJSIP_TASKPROCESSOR_OVERLOAD_TRIGGER_VALUES,
];

// ---------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------

// Short constructors so each table below reads as one line per column.
const fn s(name: &'static str, len: u32) -> Column {
    Column {
        name,
        ty: ColumnType::Varchar(len),
    }
}
const fn int(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Integer,
    }
}
const fn big(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::BigInt,
    }
}
const fn float(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Float,
    }
}
const fn text(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Text,
    }
}
/// An Asterisk boolean (`ast_bool_values`).
const fn b(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Enum(&AST_BOOL_VALUES),
    }
}
const fn e(name: &'static str, values: &'static Enum) -> Column {
    Column {
        name,
        ty: ColumnType::Enum(values),
    }
}

// `aor` objects (spec §2.3).
const PS_AORS: &[Column] = &[
    s("id", 255),
    s("contact", 255),
    int("default_expiration"),
    s("mailboxes", 80),
    int("max_contacts"),
    int("minimum_expiration"),
    b("remove_existing"),
    int("qualify_frequency"),
    b("authenticate_qualify"),
    int("maximum_expiration"),
    s("outbound_proxy", 255),
    b("support_path"),
    float("qualify_timeout"),
    s("voicemail_extension", 40),
    b("remove_unavailable"),
    b("qualify_2xx_only"),
];

// `contact` objects written by the registrar (spec §2.4).
const PS_CONTACTS: &[Column] = &[
    s("id", 255),
    s("uri", 511),
    big("expiration_time"),
    int("qualify_frequency"),
    s("outbound_proxy", 255),
    text("path"),
    s("user_agent", 255),
    float("qualify_timeout"),
    s("reg_server", 255),
    b("authenticate_qualify"),
    s("via_addr", 40),
    int("via_port"),
    s("call_id", 255),
    s("endpoint", 255),
    b("prune_on_boot"),
    b("qualify_2xx_only"),
];

// `auth` objects (spec §2.5).
const PS_AUTHS: &[Column] = &[
    s("id", 255),
    e("auth_type", &PJSIP_AUTH_TYPE_VALUES_V2),
    int("nonce_lifetime"),
    s("md5_cred", 40),
    s("password", 80),
    s("realm", 255),
    s("username", 40),
    s("refresh_token", 255),
    s("oauth_clientid", 255),
    s("oauth_secret", 255),
    s("password_digest", 1024),
    s("supported_algorithms_uas", 1024),
    s("supported_algorithms_uac", 1024),
];

// `domain_alias` objects (spec §2.8).
const PS_DOMAIN_ALIASES: &[Column] = &[s("id", 255), s("domain", 255)];

// `identify` objects (spec §2.6).
const PS_ENDPOINT_ID_IPS: &[Column] = &[
    s("id", 255),
    s("endpoint", 255),
    s("match", 80),
    b("srv_lookups"),
    s("match_header", 255),
    s("match_request_uri", 255),
];

// Outbound `registration` objects (spec §2.7).
const PS_REGISTRATIONS: &[Column] = &[
    s("id", 255),
    b("auth_rejection_permanent"),
    s("client_uri", 255),
    s("contact_user", 40),
    int("expiration"),
    int("max_retries"),
    s("outbound_auth", 255),
    s("outbound_proxy", 255),
    int("retry_interval"),
    int("forbidden_retry_interval"),
    s("server_uri", 255),
    s("transport", 40),
    b("support_path"),
    int("fatal_retry_interval"),
    b("line"),
    s("endpoint", 255),
    b("support_outbound"),
    s("contact_header_params", 255),
    int("max_random_initial_delay"),
    e("security_negotiation", &SECURITY_NEGOTIATION_VALUES),
    s("security_mechanisms", 512),
    s("user_agent", 255),
];

// `transport` objects (spec §2.1). There is no column for `ca_list_path` or
// `websocket_write_timeout`: Asterisk never added them.
const PS_TRANSPORTS: &[Column] = &[
    s("id", 40),
    int("async_operations"),
    s("bind", 40),
    s("ca_list_file", 200),
    s("cert_file", 200),
    s("cipher", 200),
    s("domain", 40),
    s("external_media_address", 40),
    s("external_signaling_address", 40),
    int("external_signaling_port"),
    e("method", &PJSIP_TRANSPORT_METHOD_VALUES_V2),
    s("local_net", 40),
    s("password", 40),
    s("priv_key_file", 200),
    e("protocol", &PJSIP_TRANSPORT_PROTOCOL_VALUES_V2),
    b("require_client_cert"),
    b("verify_client"),
    b("verify_server"),
    s("tos", 10),
    int("cos"),
    b("allow_reload"),
    b("symmetric_transport"),
    b("allow_wildcard_certs"),
    Column {
        name: "tcp_keepalive_enable",
        ty: ColumnType::Boolean,
    },
    int("tcp_keepalive_idle_time"),
    int("tcp_keepalive_interval_time"),
    int("tcp_keepalive_probe_count"),
    s("external_signaling_hostname", 40),
];

// The single `global` object (spec §2.8).
const PS_GLOBALS: &[Column] = &[
    s("id", 40),
    int("max_forwards"),
    s("user_agent", 255),
    s("default_outbound_endpoint", 40),
    s("debug", 40),
    s("endpoint_identifier_order", 40),
    int("max_initial_qualify_time"),
    s("default_from_user", 80),
    int("keep_alive_interval"),
    s("regcontext", 80),
    int("contact_expiration_check_interval"),
    s("default_voicemail_extension", 40),
    b("disable_multi_domain"),
    int("unidentified_request_count"),
    int("unidentified_request_period"),
    int("unidentified_request_prune_interval"),
    s("default_realm", 40),
    int("mwi_tps_queue_high"),
    int("mwi_tps_queue_low"),
    b("mwi_disable_initial_unsolicited"),
    b("ignore_uri_user_options"),
    b("use_callerid_contact"),
    b("send_contact_status_on_update_registration"),
    e(
        "taskprocessor_overload_trigger",
        &PJSIP_TASKPROCESSOR_OVERLOAD_TRIGGER_VALUES,
    ),
    b("norefersub"),
    b("allow_sending_180_after_183"),
    b("all_codecs_on_empty_reinvite"),
    s("default_auth_algorithms_uas", 1024),
    s("default_auth_algorithms_uac", 1024),
];

// The single `system` object (spec §2.8): both the old `threadpool_*` and the newer
// `taskpool_*` columns exist.
const PS_SYSTEMS: &[Column] = &[
    s("id", 40),
    int("timer_t1"),
    int("timer_b"),
    b("compact_headers"),
    int("threadpool_initial_size"),
    int("threadpool_auto_increment"),
    int("threadpool_idle_timeout"),
    int("threadpool_max_size"),
    b("disable_tcp_switch"),
    b("follow_early_media_fork"),
    b("accept_multiple_sdp_answers"),
    b("disable_rport"),
    int("taskpool_minimum_size"),
    int("taskpool_initial_size"),
    int("taskpool_auto_increment"),
    int("taskpool_idle_timeout"),
    int("taskpool_max_size"),
];

// `endpoint` objects (spec §2.2).
const PS_ENDPOINTS: &[Column] = &[
    s("id", 255),
    s("transport", 40),
    s("aors", 2048),
    s("auth", 255),
    s("context", 40),
    s("disallow", 200),
    s("allow", 200),
    b("direct_media"),
    e("connected_line_method", &PJSIP_CONNECTED_LINE_METHOD_VALUES),
    e("direct_media_method", &PJSIP_CONNECTED_LINE_METHOD_VALUES),
    e(
        "direct_media_glare_mitigation",
        &PJSIP_DIRECT_MEDIA_GLARE_MITIGATION_VALUES,
    ),
    b("disable_direct_media_on_nat"),
    e("dtmf_mode", &PJSIP_DTMF_MODE_VALUES_V3),
    s("external_media_address", 40),
    b("force_rport"),
    b("ice_support"),
    s("identify_by", 80),
    s("mailboxes", 40),
    s("moh_suggest", 40),
    s("outbound_auth", 255),
    s("outbound_proxy", 255),
    b("rewrite_contact"),
    b("rtp_ipv6"),
    b("rtp_symmetric"),
    b("send_diversion"),
    b("send_pai"),
    b("send_rpid"),
    int("timers_min_se"),
    e("timers", &PJSIP_TIMER_VALUES),
    int("timers_sess_expires"),
    s("callerid", 40),
    e("callerid_privacy", &PJSIP_CID_PRIVACY_VALUES),
    s("callerid_tag", 40),
    e("100rel", &PJSIP_100REL_VALUES_V2),
    b("aggregate_mwi"),
    b("trust_id_inbound"),
    b("trust_id_outbound"),
    b("use_ptime"),
    b("use_avpf"),
    e("media_encryption", &PJSIP_MEDIA_ENCRYPTION_VALUES),
    b("inband_progress"),
    s("call_group", 40),
    s("pickup_group", 40),
    s("named_call_group", 40),
    s("named_pickup_group", 40),
    int("device_state_busy_at"),
    b("fax_detect"),
    b("t38_udptl"),
    e("t38_udptl_ec", &PJSIP_T38UDPTL_EC_VALUES),
    int("t38_udptl_maxdatagram"),
    b("t38_udptl_nat"),
    b("t38_udptl_ipv6"),
    s("tone_zone", 40),
    s("language", 40),
    b("one_touch_recording"),
    s("record_on_feature", 40),
    s("record_off_feature", 40),
    s("rtp_engine", 40),
    b("allow_transfer"),
    b("allow_subscribe"),
    s("sdp_owner", 40),
    s("sdp_session", 40),
    s("tos_audio", 10),
    s("tos_video", 10),
    int("sub_min_expiry"),
    s("from_domain", 40),
    s("from_user", 40),
    s("mwi_from_user", 40),
    s("dtls_verify", 40),
    s("dtls_rekey", 40),
    s("dtls_cert_file", 200),
    s("dtls_private_key", 200),
    s("dtls_cipher", 200),
    s("dtls_ca_file", 200),
    s("dtls_ca_path", 200),
    e("dtls_setup", &PJSIP_DTLS_SETUP_VALUES),
    b("srtp_tag_32"),
    s("media_address", 40),
    e("redirect_method", &PJSIP_REDIRECT_METHOD_VALUES),
    text("set_var"),
    int("cos_audio"),
    int("cos_video"),
    s("message_context", 40),
    b("force_avp"),
    b("media_use_received_transport"),
    s("accountcode", 80),
    b("user_eq_phone"),
    b("moh_passthrough"),
    b("media_encryption_optimistic"),
    b("rpid_immediate"),
    b("g726_non_standard"),
    int("rtp_keepalive"),
    int("rtp_timeout"),
    int("rtp_timeout_hold"),
    b("bind_rtp_to_media_address"),
    s("voicemail_extension", 40),
    b("mwi_subscribe_replaces_unsolicited"),
    s("deny", 95),
    s("permit", 95),
    s("acl", 40),
    s("contact_deny", 95),
    s("contact_permit", 95),
    s("contact_acl", 40),
    s("subscribe_context", 40),
    int("fax_detect_timeout"),
    s("contact_user", 80),
    b("preferred_codec_only"),
    b("asymmetric_rtp_codec"),
    b("rtcp_mux"),
    b("allow_overlap"),
    b("refer_blind_progress"),
    b("notify_early_inuse_ringing"),
    int("max_audio_streams"),
    int("max_video_streams"),
    b("webrtc"),
    e("dtls_fingerprint", &SHA_HASH_VALUES),
    s("incoming_mwi_mailbox", 40),
    b("bundle"),
    b("dtls_auto_generate_cert"),
    b("follow_early_media_fork"),
    b("accept_multiple_sdp_answers"),
    b("suppress_q850_reason_headers"),
    b("trust_connected_line"),
    b("send_connected_line"),
    b("ignore_183_without_sdp"),
    s("codec_prefs_incoming_offer", 128),
    s("codec_prefs_outgoing_offer", 128),
    s("codec_prefs_incoming_answer", 128),
    s("codec_prefs_outgoing_answer", 128),
    b("stir_shaken"),
    b("send_history_info"),
    b("allow_unauthenticated_options"),
    b("t38_bind_udptl_to_media_address"),
    s("geoloc_incoming_call_profile", 80),
    s("geoloc_outgoing_call_profile", 80),
    e(
        "incoming_call_offer_pref",
        &PJSIP_INCOMING_CALL_OFFER_PREF_VALUES,
    ),
    e(
        "outgoing_call_offer_pref",
        &PJSIP_OUTGOING_CALL_OFFER_PREF_VALUES,
    ),
    s("stir_shaken_profile", 80),
    e("security_negotiation", &SECURITY_NEGOTIATION_VALUES),
    s("security_mechanisms", 512),
    b("send_aoc"),
    s("overlap_context", 80),
    s("tenantid", 80),
    b("suppress_moh_on_sendonly"),
    s("follow_redirect_methods", 95),
    int("rtp_port_start"),
    int("rtp_port_end"),
];

// `resource_list` objects (spec §2.8).
const PS_RESOURCE_LIST: &[Column] = &[
    s("id", 40),
    s("list_item", 2048),
    s("event", 40),
    b("full_state"),
    int("notification_batch_interval"),
    b("resource_display_name"),
];

// Persisted inbound subscriptions (`subscription_persistence`, spec §4).
const PS_SUBSCRIPTION_PERSISTENCE: &[Column] = &[
    s("id", 40),
    s("packet", 2048),
    s("src_name", 128),
    int("src_port"),
    s("transport_key", 64),
    s("local_name", 128),
    int("local_port"),
    int("cseq"),
    s("tag", 128),
    s("endpoint", 40),
    int("expires"),
    s("contact_uri", 256),
    b("prune_on_boot"),
    text("generator_data"),
];

// `outbound-publish` objects. The `@…` columns are the `@body`, `@context`, `@exten`
// options (the `@` prefix marks extended options in sorcery).
const PS_OUTBOUND_PUBLISHES: &[Column] = &[
    s("id", 255),
    int("expiration"),
    s("outbound_auth", 255),
    s("outbound_proxy", 256),
    s("server_uri", 256),
    s("from_uri", 256),
    s("to_uri", 256),
    s("event", 40),
    int("max_auth_attempts"),
    s("transport", 40),
    b("multi_user"),
    s("@body", 40),
    s("@context", 256),
    s("@exten", 256),
];

// `inbound-publication` objects (`event_<name>` columns map an event package to a
// handler).
const PS_INBOUND_PUBLICATIONS: &[Column] = &[
    s("id", 255),
    s("endpoint", 255),
    s("event_asterisk-devicestate", 40),
    s("event_asterisk-mwi", 40),
];

// `asterisk-publication` objects.
const PS_ASTERISK_PUBLICATIONS: &[Column] = &[
    s("id", 40),
    s("devicestate_publish", 40),
    s("mailboxstate_publish", 40),
    b("device_state"),
    s("device_state_filter", 256),
    b("mailbox_state"),
    s("mailbox_state_filter", 256),
];

/// Every realtime table, in the order [`create_statements`] creates them.
pub static TABLES: &[Table] = &[
    Table {
        name: "ps_aors",
        columns: PS_AORS,
    },
    Table {
        name: "ps_contacts",
        columns: PS_CONTACTS,
    },
    Table {
        name: "ps_auths",
        columns: PS_AUTHS,
    },
    Table {
        name: "ps_domain_aliases",
        columns: PS_DOMAIN_ALIASES,
    },
    Table {
        name: "ps_endpoint_id_ips",
        columns: PS_ENDPOINT_ID_IPS,
    },
    Table {
        name: "ps_registrations",
        columns: PS_REGISTRATIONS,
    },
    Table {
        name: "ps_transports",
        columns: PS_TRANSPORTS,
    },
    Table {
        name: "ps_globals",
        columns: PS_GLOBALS,
    },
    Table {
        name: "ps_systems",
        columns: PS_SYSTEMS,
    },
    Table {
        name: "ps_endpoints",
        columns: PS_ENDPOINTS,
    },
    Table {
        name: "ps_resource_list",
        columns: PS_RESOURCE_LIST,
    },
    Table {
        name: "ps_subscription_persistence",
        columns: PS_SUBSCRIPTION_PERSISTENCE,
    },
    Table {
        name: "ps_outbound_publishes",
        columns: PS_OUTBOUND_PUBLISHES,
    },
    Table {
        name: "ps_inbound_publications",
        columns: PS_INBOUND_PUBLICATIONS,
    },
    Table {
        name: "ps_asterisk_publications",
        columns: PS_ASTERISK_PUBLICATIONS,
    },
];

/// The secondary indexes Asterisk creates on these tables. `ps_contacts_uq` is redundant
/// next to the primary key but kept under Asterisk's name so the two schemas match; the
/// two others serve the qualify scheduler's scans (contacts/AORs by qualify frequency).
pub static INDEXES: &[Index] = &[
    Index {
        name: "ps_contacts_uq",
        table: "ps_contacts",
        columns: &["id", "reg_server"],
        unique: true,
    },
    Index {
        name: "ps_contacts_qualifyfreq_exp",
        table: "ps_contacts",
        columns: &["qualify_frequency", "expiration_time"],
        unique: false,
    },
    Index {
        name: "ps_aors_qualifyfreq_contact",
        table: "ps_aors",
        columns: &["qualify_frequency", "contact"],
        unique: false,
    },
];

/// The table called `name` (exact, lower-case names as Asterisk uses them).
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

// ---------------------------------------------------------------------------------------
// DDL
// ---------------------------------------------------------------------------------------

/// The SQL dialect to write DDL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3 (3.16 or newer).
    Sqlite,
    /// PostgreSQL (9.6 or newer, for `ADD COLUMN IF NOT EXISTS`).
    Postgres,
    /// MariaDB (10.5 or newer); see the module docs for Oracle MySQL.
    MySql,
}

/// Quotes an identifier. Always quoting keeps names such as `100rel`, `@body`,
/// `event_asterisk-mwi` and the MySQL keyword `match` working without a list of which
/// names need it.
fn ident(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
        Dialect::Sqlite | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// A string literal.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn value_list(e: &Enum) -> String {
    e.values
        .iter()
        .map(|v| literal(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The column's definition without key constraints: name, type and, for SQLite enums,
/// the CHECK that stands in for the enum type.
fn column_definition(dialect: Dialect, column: &Column) -> String {
    let name = ident(dialect, column.name);
    let ty = match column.ty {
        ColumnType::Varchar(n) => format!("VARCHAR({n})"),
        ColumnType::Integer => "INTEGER".to_owned(),
        ColumnType::BigInt => "BIGINT".to_owned(),
        // PostgreSQL reads FLOAT as double precision, which is what Asterisk's tables have.
        ColumnType::Float => "FLOAT".to_owned(),
        ColumnType::Text => "TEXT".to_owned(),
        ColumnType::Boolean => "BOOLEAN".to_owned(),
        ColumnType::Enum(e) => match dialect {
            Dialect::Postgres => ident(dialect, e.name),
            Dialect::MySql => format!("ENUM({})", value_list(e)),
            Dialect::Sqlite => format!("TEXT CHECK ({name} IN ({}))", value_list(e)),
        },
    };
    format!("{name} {ty}")
}

/// The statements that create the enum types (PostgreSQL only; the other dialects declare
/// enums inline). Each is a `DO` block that ignores `duplicate_object`, because `CREATE
/// TYPE` has no `IF NOT EXISTS`. An existing type is left as it is, values included.
pub fn enum_statements(dialect: Dialect) -> Vec<String> {
    if dialect != Dialect::Postgres {
        return Vec::new();
    }
    ENUMS
        .iter()
        .map(|e| {
            format!(
                "DO $$ BEGIN CREATE TYPE {} AS ENUM ({}); \
                 EXCEPTION WHEN duplicate_object THEN null; END $$",
                ident(dialect, e.name),
                value_list(e)
            )
        })
        .collect()
}

/// `CREATE TABLE IF NOT EXISTS` for one table: `id NOT NULL PRIMARY KEY`, everything else
/// nullable (sorcery leaves unset options NULL and applies the defaults itself).
pub fn create_table_statement(dialect: Dialect, table: &Table) -> String {
    let columns = table
        .columns
        .iter()
        .map(|c| {
            let mut def = column_definition(dialect, c);
            if c.is_primary_key() {
                // NOT NULL spelled out: SQLite lets a non-INTEGER primary key hold NULL.
                def.push_str(" NOT NULL PRIMARY KEY");
            }
            format!("    {def}")
        })
        .collect::<Vec<_>>()
        .join(",\n");
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{columns}\n)",
        ident(dialect, table.name)
    )
}

/// `CREATE TABLE IF NOT EXISTS` for every table of [`TABLES`].
pub fn table_statements(dialect: Dialect) -> Vec<String> {
    TABLES
        .iter()
        .map(|t| create_table_statement(dialect, t))
        .collect()
}

/// `CREATE [UNIQUE] INDEX IF NOT EXISTS` for every index of [`INDEXES`]. On a database
/// Asterisk created they already exist under these names and are skipped. Run them after
/// missing columns were added: an index on a column an old table lacks would fail.
pub fn index_statements(dialect: Dialect) -> Vec<String> {
    INDEXES
        .iter()
        .map(|i| {
            format!(
                "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
                if i.unique { "UNIQUE " } else { "" },
                ident(dialect, i.name),
                ident(dialect, i.table),
                i.columns
                    .iter()
                    .map(|c| ident(dialect, c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect()
}

/// `CREATE TABLE IF NOT EXISTS switchboard_schema_version (version INTEGER NOT NULL)`.
pub fn version_table_statement(dialect: Dialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({} INTEGER NOT NULL)",
        ident(dialect, VERSION_TABLE),
        ident(dialect, "version")
    )
}

/// Records [`SCHEMA_VERSION`] in the version table unless it is already there (so it may
/// be run again). Not DDL, hence not part of [`create_statements`]: run it once the
/// creation and the column additions have succeeded.
pub fn record_version_statement(dialect: Dialect) -> String {
    let table = ident(dialect, VERSION_TABLE);
    let version = ident(dialect, "version");
    // MySQL wants a FROM clause before WHERE; DUAL is its dummy table.
    let from = if dialect == Dialect::MySql {
        " FROM DUAL"
    } else {
        ""
    };
    format!(
        "INSERT INTO {table} ({version}) SELECT {SCHEMA_VERSION}{from} \
         WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {version} = {SCHEMA_VERSION})"
    )
}

/// All DDL for a fresh or partly present schema, in an order that works: enum types, tables,
/// indexes, the version table. Every statement is idempotent; none alters or drops anything.
///
/// For a database with tables from an older Asterisk revision, run the parts separately:
/// [`enum_statements`] and [`table_statements`], then [`add_column_statement`] for each
/// missing column, then [`index_statements`] and [`version_table_statement`].
///
/// Statements carry no trailing `;`; join them with `;\n` to make a script.
pub fn create_statements(dialect: Dialect) -> Vec<String> {
    let mut out = enum_statements(dialect);
    out.extend(table_statements(dialect));
    out.extend(index_statements(dialect));
    out.push(version_table_statement(dialect));
    out
}

/// `ALTER TABLE … ADD COLUMN …` for one column an existing table lacks (a table created by
/// an older Asterisk revision). The column is added nullable and without key constraints —
/// an existing table already has its `id` — so existing rows stay valid. PostgreSQL and
/// MariaDB get `IF NOT EXISTS`; SQLite has no such clause, so the caller must check the
/// existing columns first (`PRAGMA table_info`). On PostgreSQL an enum column needs its type,
/// which [`enum_statements`] creates.
pub fn add_column_statement(dialect: Dialect, table: &Table, column: &Column) -> String {
    let if_not_exists = match dialect {
        Dialect::Postgres | Dialect::MySql => "IF NOT EXISTS ",
        Dialect::Sqlite => "",
    };
    format!(
        "ALTER TABLE {} ADD COLUMN {if_not_exists}{}",
        ident(dialect, table.name),
        column_definition(dialect, column)
    )
}
