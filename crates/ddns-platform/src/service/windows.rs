//! The Windows Service Control Manager (Windows only), through windows-service's documented
//! API: the service dispatcher and control handler (`ddns service run`), registration with
//! the start type, account, description and recovery `plan.rs` decided, start/stop/delete and
//! queries, the data directory's ACL from its SDDL, and the Event Log for failures. Nothing is
//! decided here; every choice is in the platform-neutral modules and tested on Linux.

use std::ffi::{OsStr, OsString};
use std::os::windows::ffi::OsStrExt as _;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceStartType, ServiceState as WinState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{
    self, ServiceControlHandlerResult, ServiceStatusHandle,
};
use windows_service::service_dispatcher;
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

use super::plan::{Role, ServiceSpec};
use super::steps::{ServiceError, ServiceState};

type Body = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// The service this process runs: set before the dispatcher starts, read by its callbacks.
static ROLE: OnceLock<Role> = OnceLock::new();
static BODY: Mutex<Option<Body>> = Mutex::new(None);
static HANDLE: OnceLock<ServiceStatusHandle> = OnceLock::new();
static OUTCOME: Mutex<Option<Result<(), String>>> = Mutex::new(None);

const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
const ERROR_SERVICE_NOT_ACTIVE: i32 = 1062;
const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: i32 = 1063;
const ERROR_SERVICE_EXISTS: i32 = 1073;

/// How long a start may take before the SCM gives up (the agent's first round begins at once;
/// the server opens its database and binds).
const START_WAIT: Duration = Duration::from_secs(30);
/// How long a stop may take: the agent finishes the round it is in.
const STOP_WAIT: Duration = Duration::from_secs(60);

fn os_code(e: &windows_service::Error) -> Option<i32> {
    match e {
        windows_service::Error::Winapi(io) => io.raw_os_error(),
        _ => None,
    }
}

fn manager_error(what: &str, e: &windows_service::Error) -> ServiceError {
    let detail = match e {
        windows_service::Error::Winapi(io) => io.to_string(),
        other => other.to_string(),
    };
    ServiceError::Manager(format!("{what}: {detail}"))
}

// The entry point the dispatcher calls; the macro's glue converts the raw arguments.
windows_service::define_windows_service!(ffi_service_main, service_main);

/// Runs `body` under the SCM as `role`'s service; returns when the service has stopped.
pub(super) fn run(role: Role, body: Body) -> Result<(), ServiceError> {
    let _ = ROLE.set(role);
    *BODY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(body);
    if let Err(e) = service_dispatcher::start(role.service_name(), ffi_service_main) {
        if os_code(&e) == Some(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
            return Err(ServiceError::Manager(format!(
                "`ddns service run` is what the service manager starts; in a console, run `ddns {}` instead",
                role.as_str()
            )));
        }
        return Err(manager_error("cannot start the service dispatcher", &e));
    }
    match OUTCOME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        Some(Err(message)) => Err(ServiceError::Manager(message)),
        _ => Ok(()),
    }
}

fn status(state: WinState, exit_code: ServiceExitCode, wait_hint: Duration) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: match state {
            WinState::Running => ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
            _ => ServiceControlAccept::empty(),
        },
        exit_code,
        checkpoint: 0,
        wait_hint,
        process_id: None,
    }
}

fn set_status(state: WinState, exit_code: ServiceExitCode, wait_hint: Duration) {
    if let Some(handle) = HANDLE.get() {
        let _ = handle.set_service_status(status(state, exit_code, wait_hint));
    }
}

/// SERVICE_RUNNING, once the role is up (`notify::ready`). Outside the SCM nothing happens.
pub(super) fn report_running() {
    set_status(WinState::Running, ServiceExitCode::NO_ERROR, Duration::ZERO);
}

fn service_main(_arguments: Vec<OsString>) {
    let Some(&role) = ROLE.get() else {
        return;
    };
    let handler = move |control| match control {
        // The same path as Ctrl-C: the agent finishes its round and saves its state, the
        // server drains; the body returns and the service reports STOPPED below.
        ServiceControl::Stop | ServiceControl::Shutdown => {
            set_status(WinState::StopPending, ServiceExitCode::NO_ERROR, STOP_WAIT);
            crate::request_stop();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let handle = match service_control_handler::register(role.service_name(), handler) {
        Ok(h) => h,
        Err(e) => {
            report_event(
                role,
                &format!("cannot register the service control handler: {e}"),
            );
            return;
        }
    };
    let _ = HANDLE.set(handle);
    set_status(
        WinState::StartPending,
        ServiceExitCode::NO_ERROR,
        START_WAIT,
    );
    let body = BODY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let outcome = body.map_or(Ok(()), |body| body());
    let exit = match &outcome {
        Ok(()) => ServiceExitCode::NO_ERROR,
        Err(message) => {
            report_event(role, message);
            // Non-zero: the recovery actions (also for error exits) restart the service.
            ServiceExitCode::ServiceSpecific(1)
        }
    };
    *OUTCOME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(outcome);
    set_status(WinState::Stopped, exit, Duration::ZERO);
}

fn manager(access: ServiceManagerAccess) -> Result<ServiceManager, ServiceError> {
    ServiceManager::local_computer(None::<&str>, access)
        .map_err(|e| manager_error("cannot open the service manager (run as administrator)", &e))
}

/// Registers (or re-registers) `spec`'s service with everything `plan.rs` decided.
pub(super) fn create(spec: &ServiceSpec) -> Result<(), ServiceError> {
    let role = spec.role;
    let info = ServiceInfo {
        name: role.service_name().into(),
        display_name: role.display_name().into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: spec.exe.clone(),
        launch_arguments: spec.arguments().into_iter().map(OsString::from).collect(),
        dependencies: vec![],
        account_name: Some(spec.account().name().into()),
        account_password: None,
    };
    let access = ServiceAccess::CHANGE_CONFIG | ServiceAccess::QUERY_STATUS | ServiceAccess::START;
    let scm = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
    let service = match scm.create_service(&info, access) {
        Ok(s) => s,
        Err(e) if os_code(&e) == Some(ERROR_SERVICE_EXISTS) => {
            let s = scm
                .open_service(role.service_name(), access)
                .map_err(|e| manager_error("cannot open the existing service", &e))?;
            s.change_config(&info)
                .map_err(|e| manager_error("cannot update the existing service", &e))?;
            s
        }
        Err(e) => return Err(manager_error("cannot register the service", &e)),
    };
    service
        .set_description(role.description())
        .map_err(|e| manager_error("cannot set the description", &e))?;
    optional(
        "delayed automatic start",
        service.set_delayed_auto_start(spec.delayed_auto_start()),
    )?;
    let recovery = spec.recovery();
    optional(
        "the recovery actions",
        service.update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(recovery.reset_after),
            reboot_msg: None,
            command: None,
            actions: Some(
                recovery
                    .restart_delays
                    .iter()
                    .map(|&delay| ServiceAction {
                        action_type: ServiceActionType::Restart,
                        delay,
                    })
                    .collect(),
            ),
        }),
    )?;
    optional(
        "recovery after error exits",
        service.set_failure_actions_on_non_crash_failures(recovery.on_error_exit),
    )?;
    Ok(())
}

/// A `ChangeServiceConfig2W` setting every Windows since Vista knows. Refused as an unknown
/// level (Wine's service manager does), the service still works without it, so that is a
/// warning; any other refusal is an error.
fn optional(what: &str, result: windows_service::Result<()>) -> Result<(), ServiceError> {
    const ERROR_NOT_SUPPORTED: i32 = 50;
    const ERROR_CALL_NOT_IMPLEMENTED: i32 = 120;
    const ERROR_INVALID_LEVEL: i32 = 124;
    match result {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                os_code(&e),
                Some(ERROR_NOT_SUPPORTED | ERROR_CALL_NOT_IMPLEMENTED | ERROR_INVALID_LEVEL)
            ) =>
        {
            eprintln!(
                "warning: this service manager does not support {what} ({}); the service is \
                 registered without it",
                manager_error("refused", &e)
            );
            Ok(())
        }
        Err(e) => Err(manager_error(&format!("cannot set {what}"), &e)),
    }
}

fn open(
    role: Role,
    access: ServiceAccess,
) -> Result<Option<windows_service::service::Service>, ServiceError> {
    match manager(ServiceManagerAccess::CONNECT)?.open_service(role.service_name(), access) {
        Ok(s) => Ok(Some(s)),
        Err(e) if os_code(&e) == Some(ERROR_SERVICE_DOES_NOT_EXIST) => Ok(None),
        Err(e) => Err(manager_error("cannot open the service", &e)),
    }
}

fn not_installed(role: Role) -> ServiceError {
    ServiceError::Manager(format!("no service {} is installed", role.service_name()))
}

fn wait_for(
    service: &windows_service::service::Service,
    goal: WinState,
    limit: Duration,
) -> Result<WinState, ServiceError> {
    let deadline = Instant::now() + limit;
    loop {
        let state = service
            .query_status()
            .map_err(|e| manager_error("cannot query the service", &e))?
            .current_state;
        if state == goal || state == WinState::Stopped || Instant::now() >= deadline {
            return Ok(state);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts the service and waits until it runs.
pub(super) fn start(role: Role) -> Result<(), ServiceError> {
    let service = open(role, ServiceAccess::START | ServiceAccess::QUERY_STATUS)?
        .ok_or_else(|| not_installed(role))?;
    let current = service
        .query_status()
        .map_err(|e| manager_error("cannot query the service", &e))?
        .current_state;
    if current != WinState::Running {
        service
            .start::<&OsStr>(&[])
            .map_err(|e| manager_error("cannot start the service", &e))?;
    }
    match wait_for(&service, WinState::Running, START_WAIT)? {
        WinState::Running => Ok(()),
        other => Err(ServiceError::Manager(format!(
            "{} did not start ({other:?}); see the Event Log (source {}) and its log files",
            role.service_name(),
            role.service_name()
        ))),
    }
}

/// Stops the service and waits until it stopped; not installed or not running is fine.
pub(super) fn stop(role: Role) -> Result<(), ServiceError> {
    let Some(service) = open(role, ServiceAccess::STOP | ServiceAccess::QUERY_STATUS)? else {
        return Ok(());
    };
    match service.stop() {
        Ok(_) => {}
        Err(e) if os_code(&e) == Some(ERROR_SERVICE_NOT_ACTIVE) => return Ok(()),
        Err(e) => return Err(manager_error("cannot stop the service", &e)),
    }
    match wait_for(&service, WinState::Stopped, STOP_WAIT)? {
        WinState::Stopped => Ok(()),
        other => Err(ServiceError::Manager(format!(
            "{} did not stop within {} s ({other:?})",
            role.service_name(),
            STOP_WAIT.as_secs()
        ))),
    }
}

/// Unregisters the service.
pub(super) fn delete(role: Role) -> Result<(), ServiceError> {
    let service = open(role, ServiceAccess::DELETE)?.ok_or_else(|| not_installed(role))?;
    service
        .delete()
        .map_err(|e| manager_error("cannot delete the service", &e))
}

/// What the SCM says of the service.
pub(super) fn query(role: Role) -> Result<ServiceState, ServiceError> {
    let Some(service) = open(role, ServiceAccess::QUERY_STATUS)? else {
        return Ok(ServiceState::NotInstalled);
    };
    let state = service
        .query_status()
        .map_err(|e| manager_error("cannot query the service", &e))?
        .current_state;
    Ok(match state {
        WinState::Running => ServiceState::Running,
        WinState::StartPending | WinState::ContinuePending => ServiceState::StartPending,
        WinState::StopPending | WinState::PausePending => ServiceState::StopPending,
        WinState::Stopped | WinState::Paused => ServiceState::Stopped,
    })
}

fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// Replaces the DACL of `path` with the one in `sddl`, not inherited from the parent.
pub(super) fn set_acl(path: &Path, sddl: &str) -> Result<(), ServiceError> {
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1, SE_FILE_OBJECT,
        SetNamedSecurityInfoW,
    };
    use windows_sys::Win32::Security::{
        ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl,
        PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    };
    let fail = |what: &str, e: std::io::Error| {
        ServiceError::Manager(format!("{what} of {}: {e}", path.display()))
    };
    let sddl_w = wide(OsStr::new(sddl));
    let path_w = wide(path.as_os_str());
    let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: both strings are NUL-terminated and outlive the calls; the descriptor the first
    // call allocates is freed with LocalFree as its documentation says, after its DACL (which
    // points into it) was used.
    unsafe {
        if ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl_w.as_ptr(),
            SDDL_REVISION_1,
            &mut descriptor,
            std::ptr::null_mut(),
        ) == 0
        {
            return Err(fail(
                "cannot parse the ACL",
                std::io::Error::last_os_error(),
            ));
        }
        let (mut present, mut defaulted) = (0, 0);
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let got = GetSecurityDescriptorDacl(descriptor, &mut present, &mut dacl, &mut defaulted);
        let result = if got == 0 || present == 0 {
            Err(fail("no DACL in the ACL", std::io::Error::last_os_error()))
        } else {
            let rc = SetNamedSecurityInfoW(
                path_w.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                dacl,
                std::ptr::null(),
            );
            if rc == 0 {
                Ok(())
            } else {
                Err(fail(
                    "cannot set the ACL",
                    std::io::Error::from_raw_os_error(rc as i32),
                ))
            }
        };
        LocalFree(descriptor);
        result
    }
}

/// Writes an error event (source: the service's name, Application log). No message file is
/// registered, so the Event Viewer shows the text under "the following information was
/// included with the event".
fn report_event(role: Role, message: &str) {
    use windows_sys::Win32::System::EventLog::{
        DeregisterEventSource, EVENTLOG_ERROR_TYPE, RegisterEventSourceW, ReportEventW,
    };
    let source = wide(OsStr::new(role.service_name()));
    let text = wide(OsStr::new(message));
    let strings = [text.as_ptr()];
    // SAFETY: the strings are NUL-terminated and outlive the calls; the handle is checked and
    // closed once.
    unsafe {
        let log = RegisterEventSourceW(std::ptr::null(), source.as_ptr());
        if log.is_null() {
            return;
        }
        ReportEventW(
            log,
            EVENTLOG_ERROR_TYPE,
            0,
            1,
            std::ptr::null_mut(),
            1,
            0,
            strings.as_ptr(),
            std::ptr::null(),
        );
        DeregisterEventSource(log);
    }
}
