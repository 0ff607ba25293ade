# Installs the ddns agent as a Windows service from the unpacked zip (run in an elevated
# PowerShell, in the folder of ddns.exe):
#   .\install.ps1                      # install and start; config %ProgramData%\ddns\agent.toml
#   .\install.ps1 -Config D:\agent.toml
#   .\install.ps1 -Uninstall           # stop and remove the service and the copied ddns.exe
#   .\install.ps1 -Uninstall -Purge    # also the config, the state and the logs
# It only calls `ddns.exe service …`, which decides and does everything (README, "Windows").
param(
    [string]$Config = "$env:ProgramData\ddns\agent.toml",
    [switch]$Uninstall,
    [switch]$Purge
)
$ErrorActionPreference = 'Stop'
$exe = Join-Path $PSScriptRoot 'ddns.exe'
if (-not (Test-Path $exe)) { throw "ddns.exe is not beside install.ps1 ($PSScriptRoot)" }
$admin = ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole(
    [Security.Principal.WindowsBuiltInRole]::Administrator)
if (-not $admin) {
    Write-Host "Run this in an elevated PowerShell (Run as administrator)."
    Write-Host "Without administrator rights, a scheduled task at logon can run the agent instead:"
    & $exe service task --agent --config $Config
    exit 1
}
if ($Uninstall) {
    $argv = @('service', 'uninstall', '--agent')
    if ($Purge) { $argv += '--purge' }
} else {
    # The exe is copied to %ProgramFiles%\ddns and that copy is registered, so this folder
    # can be deleted afterwards.
    $argv = @('service', 'install', '--agent', '--copy', '--config', $Config)
}
& $exe @argv
exit $LASTEXITCODE
