// cel_rules.mjs: the bundled packs' rules written in CEL, as a ValidatingAdmissionPolicy would
// hold them: shared `variables` (the pod spec, its metadata, all containers) and one
// validation expression per rule that is true when the rule is violated. `kinds` is the
// policy's matchConstraints (the apiserver only evaluates matching policies).
const POD = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob']

export const variables = {
  spec: "object.kind == 'Pod' ? object.spec : (object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)",
  meta: "object.kind == 'Pod' ? object.metadata : (object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.metadata : object.spec.template.metadata)",
  cs: "spec.containers + (has(spec.initContainers) ? spec.initContainers : []) + (has(spec.ephemeralContainers) ? spec.ephemeralContainers : [])",
}

const sc = (c, f) => `(has(${c}.securityContext) && has(${c}.securityContext.${f}))`
const types = "['RuntimeDefault', 'Localhost']"
const notWindows = "!(has(spec.os) && spec.os.name == 'windows')"
const userNs = "!(has(spec.hostUsers) && spec.hostUsers == false)"
const hostOf = (c) => ['livenessProbe', 'readinessProbe', 'startupProbe'].flatMap(p => ['httpGet', 'tcpSocket'].map(h =>
  `(has(${c}.${p}) && has(${c}.${p}.${h}) && has(${c}.${p}.${h}.host) && ${c}.${p}.${h}.host != '')`))
  .concat(['postStart', 'preStop'].flatMap(p => ['httpGet', 'tcpSocket'].map(h =>
  `(has(${c}.lifecycle) && has(${c}.lifecycle.${p}) && has(${c}.lifecycle.${p}.${h}) && has(${c}.lifecycle.${p}.${h}.host) && ${c}.lifecycle.${p}.${h}.host != '')`))).join(' || ')
const caps = "['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']"
const sysctls = "['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem', 'net.ipv4.tcp_slow_start_after_idle', 'net.ipv4.tcp_notsent_lowat']"
const seTypes = "['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']"
const se = (o) => `(has(${o}.securityContext) && has(${o}.securityContext.seLinuxOptions) && ((has(${o}.securityContext.seLinuxOptions.type) && !(${o}.securityContext.seLinuxOptions.type in ${seTypes})) || (has(${o}.securityContext.seLinuxOptions.user) && ${o}.securityContext.seLinuxOptions.user != '') || (has(${o}.securityContext.seLinuxOptions.role) && ${o}.securityContext.seLinuxOptions.role != '')))`
const CRED = String.raw`-----BEGIN [A-Z ]*PRIVATE KEY-----|\b(AKIA|ASIA)[A-Z0-9]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}|\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.|\b[sr]k_live_[A-Za-z0-9]{24,}|\bAIza[A-Za-z0-9_-]{35}`
const credential = (k, v) => `(${v}.matches('${CRED.replace(/\\/g, '\\\\')}') || (${k}.lowerAscii().matches('pass|secret|token|apikey|api_key|credential') && !${k}.lowerAscii().matches('checksum|digest|hash|fingerprint') && size(${v}) >= params.secrets.minSecretLength && entropy(${v}) >= params.secrets.minEntropy && ${v}.matches('[0-9]') && ${v}.matches('[A-Za-z]') && !${v}.matches('^(/|[$])|://|\\\\s') && !${v}.matches('^[a-z]+(-[a-z0-9]+)*$') && !isSealed(${v})))`

const baseline = {
  apparmorprofile: `(${sc('spec', 'appArmorProfile')} && !(spec.securityContext.appArmorProfile.type in ${types})) || cs.exists(c, ${sc('c', 'appArmorProfile')} && !(c.securityContext.appArmorProfile.type in ${types})) || (has(meta.annotations) && meta.annotations.exists(k, k.startsWith('container.apparmor.security.beta.kubernetes.io/') && !(meta.annotations[k] in ['', 'runtime/default'] || meta.annotations[k].startsWith('localhost/'))))`,
  capabilities_baseline: `cs.exists(c, ${sc('c', 'capabilities')} && has(c.securityContext.capabilities.add) && c.securityContext.capabilities.add.exists(x, !(x in ${caps})))`,
  hostnamespaces: "(has(spec.hostNetwork) && spec.hostNetwork) || (has(spec.hostPID) && spec.hostPID) || (has(spec.hostIPC) && spec.hostIPC)",
  hostpathvolumes: "has(spec.volumes) && spec.volumes.exists(v, has(v.hostPath))",
  hostports: "cs.exists(c, has(c.ports) && c.ports.exists(p, has(p.hostPort) && p.hostPort != 0))",
  hostprobesandhostlifecycle: `cs.exists(c, ${hostOf('c')})`,
  privileged: `cs.exists(c, ${sc('c', 'privileged')} && c.securityContext.privileged)`,
  procmount: `${userNs} && cs.exists(c, ${sc('c', 'procMount')} && c.securityContext.procMount != 'Default')`,
  seccompprofile_baseline: `(${sc('spec', 'seccompProfile')} && !(spec.securityContext.seccompProfile.type in ${types})) || cs.exists(c, ${sc('c', 'seccompProfile')} && !(c.securityContext.seccompProfile.type in ${types}))`,
  selinuxoptions: `${se('spec')} || cs.exists(c, ${se('c')})`,
  sysctls: `${sc('spec', 'sysctls')} && spec.securityContext.sysctls.exists(s, !(s.name in ${sysctls}))`,
  windowshostprocess: `(${sc('spec', 'windowsOptions')} && has(spec.securityContext.windowsOptions.hostProcess) && spec.securityContext.windowsOptions.hostProcess) || cs.exists(c, ${sc('c', 'windowsOptions')} && has(c.securityContext.windowsOptions.hostProcess) && c.securityContext.windowsOptions.hostProcess)`,
}
const podSeccompSet = `(${sc('spec', 'seccompProfile')} && spec.securityContext.seccompProfile.type in ${types})`
const restricted = {
  ...baseline,
  procmount_restricted: `cs.exists(c, ${sc('c', 'procMount')} && c.securityContext.procMount != 'Default')`,
  allowprivilegeescalation: `${notWindows} && cs.exists(c, !${sc('c', 'allowPrivilegeEscalation')} || c.securityContext.allowPrivilegeEscalation != false)`,
  capabilities_restricted: `${notWindows} && cs.exists(c, !(${sc('c', 'capabilities')} && has(c.securityContext.capabilities.drop) && 'ALL' in c.securityContext.capabilities.drop) || (${sc('c', 'capabilities')} && has(c.securityContext.capabilities.add) && c.securityContext.capabilities.add.exists(a, a != 'NET_BIND_SERVICE')))`,
  restrictedvolumes: "has(spec.volumes) && spec.volumes.exists(v, v.exists(k, !(k in ['name', 'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret'])))",
  runasnonroot: `${userNs} && ((${sc('spec', 'runAsNonRoot')} && spec.securityContext.runAsNonRoot == false) || cs.exists(c, ${sc('c', 'runAsNonRoot')} && c.securityContext.runAsNonRoot == false) || (!(${sc('spec', 'runAsNonRoot')} && spec.securityContext.runAsNonRoot == true) && cs.exists(c, !${sc('c', 'runAsNonRoot')})))`,
  runasuser: `${userNs} && ((${sc('spec', 'runAsUser')} && spec.securityContext.runAsUser == 0.0) || cs.exists(c, ${sc('c', 'runAsUser')} && c.securityContext.runAsUser == 0.0))`,
  seccompprofile_restricted: `${notWindows} && ((${sc('spec', 'seccompProfile')} && !(spec.securityContext.seccompProfile.type in ${types})) || cs.exists(c, ${sc('c', 'seccompProfile')} && !(c.securityContext.seccompProfile.type in ${types})) || (!${podSeccompSet} && cs.exists(c, !${sc('c', 'seccompProfile')})))`,
}
const REF = String.raw`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[a-z0-9]+:[a-fA-F0-9]{32,})?$`
const images = {
  'allowed-registries': "size(params.images.allowedRegistries) > 0 && cs.exists(c, !params.images.allowedRegistries.exists(r, c.image.startsWith(r)))",
  'digest-pinned': "params.images.requireDigest && cs.exists(c, !c.image.contains('@'))",
  'no-latest': "cs.exists(c, !c.image.contains('@') && c.image.endsWith(':latest'))",
  tagged: "cs.exists(c, !c.image.contains('@') && !c.image.matches(':[^/:]+$'))",
  'valid-reference': `cs.exists(c, !c.image.matches('${REF.replace(/\\/g, '\\\\')}'))`,
}
const exempt = "(has(request.userInfo.username) && request.userInfo.username != '' && params.secrets.exemptUsers.exists(u, u.endsWith('*') ? request.userInfo.username.startsWith(u.substring(0, size(u) - 1)) : request.userInfo.username == u))"
const secrets = {
  'env-credentials': `!${exempt} && cs.exists(c, has(c.env) && c.env.exists(e, has(e.value) && ${credential('e.name', 'e.value')}))`,
  'annotation-credentials': `!${exempt} && has(object.metadata.annotations) && object.metadata.annotations.exists(k, ${credential('k', 'object.metadata.annotations[k]')})`,
  sealed: "!(object.type in params.secrets.exemptTypes) && (has(object.data) || has(object.stringData)) && !(has(object.metadata.labels) && 'sealgate.io/sealed' in object.metadata.labels && object.metadata.labels['sealgate.io/sealed'] == 'true')",
  'configmap-credentials': `!${exempt} && has(object.data) && object.data.exists(k, ${credential('k', 'object.data[k]')})`,
}
const kindsOf = { sealed: ['Secret'], 'values-sealed': ['Secret'], 'still-sealed': ['Secret'], 'configmap-credentials': ['ConfigMap'], 'annotation-credentials': null }

export const rules = [
  ...Object.entries(baseline).map(([id, expr]) => ({ id: 'pod-security-baseline/' + id, kinds: POD, expr })),
  ...Object.entries(restricted).map(([id, expr]) => ({ id: 'pod-security-restricted/' + id, kinds: POD, expr })),
  ...Object.entries(images).map(([id, expr]) => ({ id: 'images/' + id, kinds: POD, expr })),
  ...Object.entries(secrets).map(([id, expr]) => ({ id: 'secrets/' + id, kinds: id in kindsOf ? kindsOf[id] : POD, expr })),
]
