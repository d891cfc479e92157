//! One doctor finding: a stable [`Code`], a level, what was checked and how to fix it.
//! The codes are a public contract (`--json`, docs/doctor.md): add new ones, never rename.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Pass => "pass",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// Every outcome doctor can report. The serialised name is the stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    // config
    ConfigOk,
    ConfigMissing,
    ConfigInvalid,
    ConfigWarning,
    // environment variables (names only, never values)
    EnvSet,
    EnvReadUrlMissing,
    EnvWriteUrlMissing,
    EnvTenantMissing,
    EnvPrincipalMissing,
    EnvHandlerMissing,
    // sources
    SourceReachable,
    SourceUnreachable,
    ReadCredentialReadOnly,
    ReadCredentialCanWrite,
    ReadCredentialCanCreate,
    PrivilegesUnknown,
    CredentialSeparate,
    CredentialShared,
    WriteUrlMissing,
    // what the config names in the database
    TableOk,
    TableMissing,
    TableNotReadable,
    TargetNotWritable,
    ColumnMissing,
    ColumnTypeIncompatible,
    KeyNotUnique,
    TenantNotInLookup,
    SingleTenantDev,
    // direct SQL writeback (--check-writeback)
    WritebackNotChecked,
    WriterUnreachable,
    ReceiptsTableOk,
    ReceiptsTableMissing,
    ReceiptsTableIncomplete,
    WriterGrantsOk,
    WriterGrantsMissing,
    // app-owned handlers (--check-handlers)
    HandlersNotChecked,
    /// Retired: the unsigned `OPTIONS` check before probes. Never reported now; the code
    /// stays reserved.
    #[allow(dead_code)]
    HandlerReachable,
    HandlerUnreachable,
    /// Retired: "the program is executable" before probes. Never reported now.
    #[allow(dead_code)]
    HandlerRunnable,
    HandlerNotExecutable,
    HandlerUnsigned,
    HandlerProbeOk,
    HandlerSignatureRefused,
    HandlerClockRefused,
    HandlerProtocolMismatch,
    HandlerProbeUnsupported,
    HandlerBadAnswer,
    HandlerAcceptsForged,
    HandlerUnauthenticated,
    // the model-facing tools
    ToolsSemanticOnly,
    ToolsUnsafe,
    // ledger
    LedgerOk,
    LedgerAbsent,
    LedgerBroken,
    LedgerUnreadable,
    // --first-run
    StoreDirWritable,
    StoreDirNotWritable,
    ClientConfigClean,
    ClientConfigHasSecret,
    ClientConfigNotFound,
}

impl Code {
    /// The stable code text (`read_credential_can_write`).
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub code: Code,
    pub level: Level,
    /// `true` unless `level` is `fail` (the original's field).
    pub ok: bool,
    /// What was checked: `config`, `env:VAR`, `source:NAME`, `source:NAME:read-credential`,
    /// `capability:CAP`, `capability:CAP:column:COL`, `handler:NAME`, `ledger`, ….
    pub name: String,
    pub message: String,
    /// What to do about it (warn and fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Extra facts for scripts (transport, privileges); never a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Check {
    pub fn new(
        code: Code,
        level: Level,
        name: impl Into<String>,
        message: impl Into<String>,
    ) -> Check {
        Check {
            code,
            level,
            ok: level != Level::Fail,
            name: name.into(),
            message: message.into(),
            hint: None,
            data: None,
        }
    }

    pub fn pass(code: Code, name: impl Into<String>, message: impl Into<String>) -> Check {
        Check::new(code, Level::Pass, name, message)
    }

    pub fn warn(
        code: Code,
        name: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check::new(code, Level::Warn, name, message).hint(hint)
    }

    pub fn fail(
        code: Code,
        name: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check::new(code, Level::Fail, name, message).hint(hint)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Check {
        self.hint = Some(hint.into());
        self
    }

    pub fn data(mut self, data: serde_json::Value) -> Check {
        self.data = Some(data);
        self
    }
}
