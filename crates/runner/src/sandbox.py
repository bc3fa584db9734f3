# hookbook's sandbox for one kernel, made by the process that is about to
# become the kernel (a fork server's child, or a kernel started cold).
#
# `sandbox(spec, parent)` is called in that process (the keeper). It makes a
# user, mount, PID and IPC namespace (and a network namespace when runs
# have no network), builds the kernel's filesystem from read-only binds of
# the system and the interpreter plus the kernel's own directory, and
# forks the kernel: PID 1 of its namespace, without capabilities, with
# no_new_privs. The keeper stays outside as the kernel's parent: it exits
# with the kernel, and kills its process group (the kernel with it) once
# `parent` is gone. Only the kernel returns from `sandbox`.
#
# spec: {"dir": the kernel's directory, bound read-write at its own path;
#        "work": its working directory (and its "tmp" beside it, which the
#        run sees as /tmp, so that the disk budget counts it); "uid",
#        "gid": the host ids the run
#        gets when the server is root (else null: the server's own);
#        "network": false for a network namespace of its own;
#        "pasta": when that namespace is connected to the host's network,
#        pasta's command line, which the keeper's pid ends;
#        "cgroups": the cgroup.procs files the keeper joins first (one per
#        cgroup v1 hierarchy, one on cgroup v2);
#        "hide": paths no run may see (refused when a bind would show one)}
import ctypes, os, platform, select, signal, struct, sys

_libc = ctypes.CDLL(None, use_errno=True)
_NEWNS, _NEWUSER, _NEWPID, _NEWNET, _NEWIPC = 0x20000, 0x10000000, 0x20000000, 0x40000000, 0x8000000
_RDONLY, _NOSUID, _NODEV, _NOEXEC, _REMOUNT, _BIND, _REC, _PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
_ATTR_RDONLY, _ATTR_NOSUID, _ATTR_NODEV = 1, 2, 4
_SYSCALLS = {'x86_64': (155, 442), 'aarch64': (41, 442)}
_INSIDE_ID = 1000
_SYSTEM = ('/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc')
_DEVICES = ('null', 'zero', 'full', 'random', 'urandom')


def yield_cpu():
    # Asked by the server (HOOKBOOK_RUN_CPU=idle): this process and all it
    # starts run under SCHED_IDLE, on the CPU time nothing else wants. An
    # unprivileged process cannot leave SCHED_IDLE (RLIMIT_NICE is 0), so
    # a notebook cannot take the CPU back from the server.
    if os.environ.pop('HOOKBOOK_RUN_CPU', '') == 'idle':
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


class SandboxError(Exception):
    pass


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise SandboxError(f'{what}: {os.strerror(errno)}')


def _bytes(text):
    return None if text is None else os.fsencode(text)


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), ctypes.c_ulong(flags), _bytes(data)), f'mount {target}')


def _set_attributes(target, attributes):
    # mount_setattr(2) with AT_RECURSIVE: every mount under target too.
    calls = _SYSCALLS.get(platform.machine())
    if calls is None:
        raise SandboxError(f'no sandbox on {platform.machine()}')
    attr = struct.pack('QQQQ', attributes, 0, 0, 0)
    _check(_libc.syscall(calls[1], -100, _bytes(target), 0x8000, attr, len(attr)), f'making {target} read-only')


def _pivot_root():
    calls = _SYSCALLS.get(platform.machine())
    _check(_libc.syscall(calls[0], b'.', b'.'), 'pivot_root')
    _check(_libc.umount2(b'.', 2), 'detaching the old root')


def _prctl(option, value):
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f'prctl {option}')


def _under(path, parent):
    return path == parent or path.startswith(parent.rstrip('/') + '/')


def _read_only_paths(hidden):
    paths = [p for p in _SYSTEM if os.path.lexists(p)]
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *sys.path):
        if p and os.path.exists(p):
            paths.append(os.path.abspath(p))
            paths.append(os.path.realpath(p))
    if os.path.islink('/etc/resolv.conf'):
        paths.append(os.path.realpath('/etc/resolv.conf'))
    kept = []
    for p in sorted(set(paths), key=len):
        for h in hidden:
            if _under(h, p):
                raise SandboxError(f'runs would see {h}: it is inside {p}, which runs read')
        if not any(_under(p, k) for k in kept):
            kept.append(p)
    return kept


def _bind(root, source, fd, writable):
    target = root + source
    if os.path.isdir(f'/proc/self/fd/{fd}'):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, 'a').close()
    _mount(f'/proc/self/fd/{fd}', target, None, _BIND | _REC)
    _set_attributes(target, _ATTR_NOSUID | _ATTR_NODEV | (0 if writable else _ATTR_RDONLY))


def _open_sources(spec):
    """What the run will see, opened before the new root hides /tmp."""
    hidden = [os.path.abspath(h) for h in spec.get('hide', [])]
    sources = []
    for p in _read_only_paths(hidden):
        if os.path.islink(p) and p in _SYSTEM:
            sources.append((p, os.readlink(p), False))
        else:
            sources.append((p, os.open(p, os.O_PATH | os.O_CLOEXEC), False))
    sources.append((spec['dir'], os.open(spec['dir'], os.O_PATH | os.O_CLOEXEC), True))
    devices = [(f'/dev/{d}', os.open(f'/dev/{d}', os.O_PATH | os.O_CLOEXEC), True) for d in _DEVICES]
    tmp = os.open(os.path.join(spec['dir'], 'tmp'), os.O_PATH | os.O_CLOEXEC)
    return sources, devices, tmp


def _build_root(root, spec, sources, devices, tmp):
    _mount('hookbook-run', root, 'tmpfs', _NOSUID | _NODEV, 'mode=755,size=1m')
    # The run's own /tmp first: binds of paths under /tmp go inside it.
    for d in ('proc', 'tmp', 'dev/shm'):
        os.makedirs(f'{root}/{d}', exist_ok=True)
    # The run's /tmp is the kernel's own tmp directory, on disk, where the
    # disk budget counts it (a tmpfs would be neither counted nor disk).
    _mount(f'/proc/self/fd/{tmp}', f'{root}/tmp', None, _BIND)
    _set_attributes(f'{root}/tmp', _ATTR_NOSUID | _ATTR_NODEV)
    os.close(tmp)
    for path, source, writable in sources:
        if isinstance(source, str):
            os.symlink(source, root + path)
        else:
            _bind(root, path, source, writable)
    _mount('shm', f'{root}/dev/shm', 'tmpfs', _NOSUID | _NODEV, 'mode=1777,size=64m')
    for path, fd, _ in devices:
        open(root + path, 'a').close()
        _mount(f'/proc/self/fd/{fd}', root + path, None, _BIND)
    for name, target in (('fd', '/proc/self/fd'), ('stdin', '/proc/self/fd/0'), ('stdout', '/proc/self/fd/1'), ('stderr', '/proc/self/fd/2')):
        os.symlink(target, f'{root}/dev/{name}')
    for _, source, _ in sources + devices:
        if not isinstance(source, str):
            os.close(source)


def _map_ids(spec):
    """Unshares, and maps the run's ids: as root, a helper left outside
    writes the map (only a process of the parent namespace may map other
    ids than its own, here root to itself and the run's); otherwise the server's own ids, mapped by itself."""
    flags = _NEWUSER | _NEWNS | _NEWPID | _NEWIPC | (0 if spec.get('network', True) else _NEWNET)
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        _check(_libc.unshare(flags), 'unshare')
        for name, text in (('setgroups', 'deny'), ('uid_map', f'{_INSIDE_ID} {uid} 1'), ('gid_map', f'{_INSIDE_ID} {gid} 1')):
            with open(f'/proc/self/{name}', 'w') as f:
                f.write(text)
        return
    me = os.getpid()
    go_r, go_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        try:
            os.close(go_w)
            if os.read(go_r, 1) == b'1':
                for name, id in (('uid_map', spec['uid']), ('gid_map', spec['gid'])):
                    with open(f'/proc/{me}/{name}', 'w') as f:
                        f.write(f'0 0 1\n{_INSIDE_ID} {id} 1')
                os._exit(0)
        finally:
            os._exit(1)
    os.close(go_r)
    try:
        _check(_libc.unshare(flags), 'unshare')
        os.write(go_w, b'1')
    finally:
        os.close(go_w)
        _, status = os.waitpid(helper, 0)
    if status != 0:
        raise SandboxError(f'mapping the run to uid {spec["uid"]} failed')


def _pasta_helper(spec):
    """Forks, before the unshare, the process that becomes pasta once the
    keeper's namespaces exist (it must stay in the host's): it dies with the
    keeper (and is in its process group). Returns the pipe that says go."""
    keeper = os.getpid()
    go_r, go_w = os.pipe()
    if os.fork() == 0:
        try:
            os.close(go_w)
            _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the keeper
            if os.getppid() == keeper and os.read(go_r, 1) == b'1':
                os.close(go_r)
                # Python ignores these; pasta refuses to start with SIGPIPE ignored.
                for number in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD):
                    signal.signal(number, signal.SIG_DFL)
                argv = list(spec['pasta']) + [str(keeper)]
                os.execv(argv[0], argv)
        finally:
            os._exit(1)
    os.close(go_r)
    return go_w


def _wait_for_network(seconds):
    """Waits until pasta has given the namespace its default route."""
    for _ in range(int(seconds * 50)):
        with open('/proc/self/net/route') as f:
            if any(line.split()[1:2] == ['00000000'] for line in f.readlines()[1:]):
                return
        select.select([], [], [], 0.02)
    raise SandboxError('the run\'s network was not connected (pasta)')


def _become_run_user():
    """Ends with the run's ids and no capabilities. As root, the keeper
    kept root (mapped to itself) to build the kernel's root, and the
    bounding set goes while the right to drop it is still held."""
    for capability in range(64):
        if _libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            break
    _libc.prctl(47, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL
    if os.getuid() != _INSIDE_ID:
        os.setgroups([])
        os.setresgid(_INSIDE_ID, _INSIDE_ID, _INSIDE_ID)
        os.setresuid(_INSIDE_ID, _INSIDE_ID, _INSIDE_ID)
    header = struct.pack('Ii', 0x20080522, 0)
    _check(_libc.capset(header, bytes(24)), 'dropping capabilities')
    _prctl(38, 1)  # PR_SET_NO_NEW_PRIVS


def _keep(child, parent):
    """The keeper's life: wait for the kernel, exit as it did; kill the
    process group once `parent` is gone."""
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        if os.getppid() != parent:
            os.killpg(0, signal.SIGKILL)
        signal.sigtimedwait([signal.SIGCHLD], 0.5)


def sandbox(spec, parent):
    root = '/tmp'
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for procs in spec.get('cgroups') or ():
        # Before the kernel is forked: it must start inside the limits.
        with open(procs, 'w') as f:
            f.write(str(os.getpid()))
    pasta = _pasta_helper(spec) if spec.get('pasta') else None
    _map_ids(spec)
    if pasta is not None:
        os.write(pasta, b'1')
        os.close(pasta)
    _mount(None, '/', None, _REC | _PRIVATE)
    sources, devices, tmp = _open_sources(spec)
    _build_root(root, spec, sources, devices, tmp)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
    alive_r, alive_w = os.pipe()
    child = os.fork()
    if child:
        os.close(alive_r)
        _keep(child, parent)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
    os.close(alive_w)
    if pasta is not None:
        _wait_for_network(10)
    _mount('proc', f'{root}/proc', 'proc', _NOSUID | _NODEV | _NOEXEC)
    os.chdir(root)
    _pivot_root()
    _mount(None, '/', None, _REMOUNT | _RDONLY | _NOSUID | _NODEV)
    _become_run_user()
    # After the ids changed: a change of ids clears the death signal.
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the keeper
    if select.select([alive_r], [], [], 0)[0]:
        os._exit(1)  # the keeper died before the line above took effect
    os.close(alive_r)
    os.chdir(spec['work'])
