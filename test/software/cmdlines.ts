// Command lines as /proc/PID/cmdline shows them on real systems (argv split on NUL), with the
// exe link and cwd the kernel reports, and who the software is. Sources: ps/proc on Debian,
// Ubuntu, RHEL/Fedora hosts and the vendors' own start scripts (Kafka, Elasticsearch, Tomcat,
// ZooKeeper, Jenkins, Gradle). Addresses and secrets replaced with documentation values.
import type { SoftwareKind } from '../../lib/software/index.js';

export interface Case {
  what: string;
  exe?: string;
  argv: string[];
  cwd?: string;
  id: string;
  kind: SoftwareKind;
  interpreter?: string;
  launcher?: string;
}

const PY = '/usr/bin/python3.10';
const JDK17 = '/usr/lib/jvm/java-17-openjdk-amd64/bin/java';
const NODE = '/usr/bin/node';

export const CASES: Case[] = [
  // --- Python
  { what: 'gunicorn via python', exe: PY, argv: ['/usr/bin/python3', '/usr/local/bin/gunicorn', '--workers', '4', '--bind', '0.0.0.0:8000', 'app.wsgi:application'], cwd: '/srv/app', id: 'app.wsgi', kind: 'python-module', interpreter: PY, launcher: '/usr/local/bin/gunicorn' },
  { what: 'celery worker', exe: '/usr/local/bin/python3.11', argv: ['/usr/local/bin/python', '/usr/local/bin/celery', '-A', 'proj', 'worker', '--loglevel=INFO'], cwd: '/app', id: 'proj', kind: 'python-module', launcher: '/usr/local/bin/celery' },
  { what: 'pip as a module', exe: PY, argv: ['/usr/bin/python3', '-m', 'pip', 'install', '-r', 'requirements.txt'], cwd: '/srv/app', id: 'pip', kind: 'python-module', interpreter: PY },
  { what: 'pip3 console script', exe: PY, argv: ['/usr/bin/python3', '/usr/bin/pip3', 'install', 'requests'], id: '/usr/bin/pip3', kind: 'script' },
  { what: 'unattended-upgrade', exe: PY, argv: ['/usr/bin/python3', '/usr/bin/unattended-upgrade', '--download-only'], cwd: '/', id: '/usr/bin/unattended-upgrade', kind: 'script' },
  { what: 'networkd-dispatcher', exe: PY, argv: ['/usr/bin/python3', '/usr/bin/networkd-dispatcher', '--run-startup-triggers'], cwd: '/', id: '/usr/bin/networkd-dispatcher', kind: 'script' },
  { what: 'flags with separate values', exe: PY, argv: ['python', '-u', '-X', 'dev', '-W', 'ignore', 'script.py'], cwd: '/opt/app', id: '/opt/app/script.py', kind: 'script' },
  { what: 'python -c one-liner', exe: '/usr/bin/python3.11', argv: ['python3', '-c', 'import socket; socket.create_connection(("192.0.2.1", 443))'], id: 'python3 -c', kind: 'inline', interpreter: '/usr/bin/python3.11' },
  { what: 'http.server module', exe: PY, argv: ['python3', '-m', 'http.server', '8000'], cwd: '/tmp', id: 'http.server', kind: 'python-module' },
  { what: 'uvicorn in a venv', exe: '/usr/bin/python3.12', argv: ['/srv/venv/bin/python3', '/srv/venv/bin/uvicorn', 'main:app', '--host', '0.0.0.0'], cwd: '/srv', id: 'main', kind: 'python-module', launcher: '/srv/venv/bin/uvicorn' },
  { what: 'uvicorn with valued options first, a factory', exe: '/usr/bin/python3.12', argv: ['/usr/bin/python3', '/usr/local/bin/uvicorn', '--app-dir', 'src', '--uds', '/run/api.sock', '--factory', 'billing.api:create_app'], id: 'billing.api', kind: 'python-module', launcher: '/usr/local/bin/uvicorn' },
  { what: 'python -m uvicorn', exe: '/usr/bin/python3.12', argv: ['python3', '-m', 'uvicorn', 'shop.main:app', '--port', '8000', '--workers', '4'], id: 'shop.main', kind: 'python-module', launcher: 'uvicorn' },
  { what: 'hypercorn bound to an address that looks like host:port', exe: '/usr/bin/python3.12', argv: ['/usr/bin/python3', '/usr/local/bin/hypercorn', '--bind', 'localhost:8000', 'app.asgi:application'], id: 'app.asgi', kind: 'python-module', launcher: '/usr/local/bin/hypercorn' },
  { what: 'daphne (Django Channels)', exe: '/usr/bin/python3.11', argv: ['/usr/bin/python3', '/usr/bin/daphne', '-b', '0.0.0.0', '-p', '8001', 'myproject.asgi:application'], id: 'myproject.asgi', kind: 'python-module', launcher: '/usr/bin/daphne' },
  { what: 'waitress-serve', exe: '/usr/bin/python3.11', argv: ['/usr/bin/python3', '/usr/local/bin/waitress-serve', '--listen=*:8041', '--call', 'myapp:create_app'], id: 'myapp', kind: 'python-module', launcher: '/usr/local/bin/waitress-serve' },
  { what: 'python -m gunicorn', exe: '/usr/bin/python3.11', argv: ['python3', '-m', 'gunicorn', '-w', '2', 'site.wsgi:application'], id: 'site.wsgi', kind: 'python-module', launcher: 'gunicorn' },
  { what: 'uvicorn with its app from a config (none on the line): the script', exe: '/usr/bin/python3.12', argv: ['/usr/bin/python3', '/usr/local/bin/uvicorn', '--host', '0.0.0.0'], id: '/usr/local/bin/uvicorn', kind: 'script' },
  { what: 'fastapi run (FastAPI CLI)', exe: '/usr/bin/python3.12', argv: ['/srv/venv/bin/python3', '/srv/venv/bin/fastapi', 'run', 'app/main.py', '--port', '80'], cwd: '/srv', id: '/srv/app/main.py', kind: 'script', launcher: '/srv/venv/bin/fastapi' },
  { what: 'streamlit run', exe: '/usr/bin/python3.11', argv: ['/usr/bin/python3', '/usr/local/bin/streamlit', 'run', '--server.port', '8501', 'dashboard.py'], cwd: '/opt/dash', id: '/opt/dash/dashboard.py', kind: 'script', launcher: '/usr/local/bin/streamlit' },
  { what: 'streamlit hello (no file): the script', exe: '/usr/bin/python3.11', argv: ['/usr/bin/python3', '/usr/local/bin/streamlit', 'hello'], id: '/usr/local/bin/streamlit', kind: 'script' },
  { what: 'python -m of another module keeps the module', exe: '/usr/bin/python3.12', argv: ['python3', '-m', 'http.server', 'a:b'], id: 'http.server', kind: 'python-module' },
  { what: 'Django manage.py relative', exe: PY, argv: ['python', 'manage.py', 'runserver', '0.0.0.0:8000'], cwd: '/srv/mysite', id: '/srv/mysite/manage.py', kind: 'script' },
  { what: 'supervisord', exe: PY, argv: ['/usr/bin/python3', '/usr/bin/supervisord', '-n', '-c', '/etc/supervisor/supervisord.conf'], cwd: '/', id: '/usr/bin/supervisord', kind: 'script' },
  { what: 'python 2 with -Q and -tt', exe: '/usr/bin/python2.7', argv: ['/usr/bin/python2.7', '-Qnew', '-tt', '/opt/legacy/run.py'], id: '/opt/legacy/run.py', kind: 'script' },
  { what: 'pypy3', exe: '/usr/bin/pypy3', argv: ['pypy3', '-O', 'bench.py'], cwd: '/home/dev', id: '/home/dev/bench.py', kind: 'script' },
  { what: 'venv ensurepip, clustered -Im', exe: PY, argv: ['/srv/venv/bin/python3', '-Im', 'ensurepip', '--upgrade', '--default-pip'], id: 'ensurepip', kind: 'python-module' },
  { what: 'Fedora dnf shebang -s', exe: '/usr/bin/python3.12', argv: ['/usr/bin/python3', '-s', '/usr/bin/dnf', 'makecache', '--timer'], id: '/usr/bin/dnf', kind: 'script' },
  { what: 'RHEL tuned shebang -Es', exe: '/usr/bin/python3.9', argv: ['/usr/bin/python3', '-Es', '/usr/sbin/tuned', '-l', '-P'], id: '/usr/sbin/tuned', kind: 'script' },
  { what: 'python REPL', exe: '/usr/bin/python3.11', argv: ['python3'], id: '/usr/bin/python3.11', kind: 'executable' },
  { what: 'exe unreadable: argv[0] decides', argv: ['python3', 'worker.py'], cwd: '/opt/app', id: '/opt/app/worker.py', kind: 'script', interpreter: 'python3' },
  // --- Java
  { what: 'Jenkins agent', exe: JDK17, argv: ['java', '-jar', 'agent.jar', '-jnlpUrl', 'http://192.0.2.20:8080/computer/b1/jenkins-agent.jnlp', '-secret', '@secret-file', '-workDir', '/home/jenkins/agent'], cwd: '/home/jenkins', id: '/home/jenkins/agent.jar', kind: 'jar', interpreter: JDK17 },
  { what: 'Jenkins controller war', exe: JDK17, argv: ['/usr/bin/java', '-Djava.awt.headless=true', '-jar', '/usr/share/java/jenkins.war', '--webroot=/var/cache/jenkins/war', '--httpPort=8080'], cwd: '/', id: '/usr/share/java/jenkins.war', kind: 'jar' },
  { what: 'Kafka broker', exe: JDK17, argv: ['java', '-Xmx1G', '-Xms1G', '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent', '-XX:MaxInlineLevel=15', '-Djava.awt.headless=true', '-Xlog:gc*:file=/opt/kafka/bin/../logs/kafkaServer-gc.log:time,tags:filecount=10,filesize=100M', '-Dcom.sun.management.jmxremote', '-Dcom.sun.management.jmxremote.authenticate=false', '-Dcom.sun.management.jmxremote.ssl=false', '-Dkafka.logs.dir=/opt/kafka/bin/../logs', '-Dlog4j.configuration=file:/opt/kafka/bin/../config/log4j.properties', '-cp', '/opt/kafka/bin/../libs/activation-1.1.1.jar:/opt/kafka/bin/../libs/kafka_2.13-3.6.0.jar', 'kafka.Kafka', 'config/server.properties'], cwd: '/opt/kafka', id: 'kafka.Kafka', kind: 'java-class' },
  { what: 'Elasticsearch 8 module launch', exe: '/usr/share/elasticsearch/jdk/bin/java', argv: ['/usr/share/elasticsearch/jdk/bin/java', '-Des.networkaddress.cache.ttl=60', '-Des.networkaddress.cache.negative.ttl=10', '-Djava.security.manager=allow', '-XX:+AlwaysPreTouch', '-Xss1m', '-Djava.awt.headless=true', '-Dfile.encoding=UTF-8', '-Djna.nosys=true', '-XX:-OmitStackTraceInFastThrow', '-Dio.netty.noUnsafe=true', '-Xms1g', '-Xmx1g', '-XX:+UseG1GC', '-Djava.io.tmpdir=/tmp/elasticsearch-4417', '--add-modules=jdk.incubator.vector', '-XX:ReplayDataFile=/var/log/elasticsearch/replay_pid%p.log', '-Des.distribution.type=deb', '--module-path', '/usr/share/elasticsearch/lib', '--add-modules=jdk.net', '--add-modules=ALL-MODULE-PATH', '-m', 'org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch'], cwd: '/usr/share/elasticsearch', id: 'org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch', kind: 'java-module' },
  { what: 'Elasticsearch 7 classpath launch', exe: '/usr/share/elasticsearch/jdk/bin/java', argv: ['/usr/share/elasticsearch/jdk/bin/java', '-Xshare:auto', '-Des.networkaddress.cache.ttl=60', '-Xms1g', '-Xmx1g', '-XX:+UseG1GC', '-Des.path.home=/usr/share/elasticsearch', '-Des.path.conf=/etc/elasticsearch', '-Des.distribution.flavor=default', '-Des.distribution.type=rpm', '-Des.bundled_jdk=true', '-cp', '/usr/share/elasticsearch/lib/*', 'org.elasticsearch.bootstrap.Elasticsearch', '-p', '/var/run/elasticsearch/elasticsearch.pid', '--quiet'], id: 'org.elasticsearch.bootstrap.Elasticsearch', kind: 'java-class' },
  { what: 'ZooKeeper', exe: JDK17, argv: ['java', '-Dzookeeper.log.dir=/opt/zookeeper/bin/../logs', '-Dzookeeper.log.file=zookeeper-root-server.log', '-XX:+HeapDumpOnOutOfMemoryError', '-XX:OnOutOfMemoryError=kill -9 %p', '-cp', '/opt/zookeeper/bin/../zookeeper-server/target/classes:/opt/zookeeper/bin/../conf:', '-Xmx1000m', '-Dcom.sun.management.jmxremote', '-Dcom.sun.management.jmxremote.local.only=false', 'org.apache.zookeeper.server.quorum.QuorumPeerMain', '/opt/zookeeper/bin/../conf/zoo.cfg'], id: 'org.apache.zookeeper.server.quorum.QuorumPeerMain', kind: 'java-class' },
  { what: 'Tomcat with -classpath and --add-opens=', exe: '/usr/lib/jvm/java-11-openjdk-amd64/bin/java', argv: ['/usr/lib/jvm/java-11-openjdk-amd64/bin/java', '-Djava.util.logging.config.file=/opt/tomcat/conf/logging.properties', '-Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager', '-Djdk.tls.ephemeralDHKeySize=2048', '--add-opens=java.base/java.lang=ALL-UNNAMED', '-classpath', '/opt/tomcat/bin/bootstrap.jar:/opt/tomcat/bin/tomcat-juli.jar', '-Dcatalina.base=/opt/tomcat', '-Dcatalina.home=/opt/tomcat', '-Djava.io.tmpdir=/opt/tomcat/temp', 'org.apache.catalina.startup.Bootstrap', 'start'], id: 'org.apache.catalina.startup.Bootstrap', kind: 'java-class' },
  { what: 'Gradle daemon with -javaagent', exe: JDK17, argv: [JDK17, '--add-opens=java.base/java.util=ALL-UNNAMED', '-XX:MaxMetaspaceSize=384m', '-Xms256m', '-Xmx512m', '-Dfile.encoding=UTF-8', '-Duser.variant', '-cp', '/root/.gradle/wrapper/dists/gradle-8.5-bin/lib/gradle-launcher-8.5.jar', '-javaagent:/root/.gradle/wrapper/dists/gradle-8.5-bin/lib/agents/gradle-instrumentation-agent-8.5.jar', 'org.gradle.launcher.daemon.bootstrap.GradleDaemon', '8.5'], id: 'org.gradle.launcher.daemon.bootstrap.GradleDaemon', kind: 'java-class' },
  { what: 'java --class-path', exe: JDK17, argv: ['java', '-Xmx1g', '-Dk=v', '--class-path', 'a.jar:b.jar', 'com.acme.Main', 'arg'], id: 'com.acme.Main', kind: 'java-class' },
  { what: 'java -m module/class', exe: JDK17, argv: ['java', '-p', 'mods', '-m', 'mod/com.acme.Main'], id: 'mod/com.acme.Main', kind: 'java-module' },
  { what: 'java @argfile then -jar', exe: JDK17, argv: ['java', '@/opt/app/jvm.args', '-jar', 'app.jar'], cwd: '/opt/app', id: '/opt/app/app.jar', kind: 'jar' },
  { what: 'java single-file source (JEP 330)', exe: JDK17, argv: ['java', 'Hello.java'], cwd: '/tmp/demo', id: '/tmp/demo/Hello.java', kind: 'script' },
  { what: 'java -version', exe: JDK17, argv: ['java', '-version'], id: JDK17, kind: 'executable' },
  // --- Node
  { what: 'npm-cli.js', exe: NODE, argv: ['node', '/usr/lib/node_modules/npm/bin/npm-cli.js', 'install'], cwd: '/srv/web', id: '/usr/lib/node_modules/npm/bin/npm-cli.js', kind: 'script', interpreter: NODE },
  { what: 'node with -r/--require and --inspect', exe: NODE, argv: ['node', '--require', 'x', '-r', 'y', '--inspect', '/srv/app/server.js'], id: '/srv/app/server.js', kind: 'script' },
  { what: 'node --max-old-space-size=', exe: NODE, argv: ['node', '--max-old-space-size=4096', 'app.js'], cwd: '/srv/api', id: '/srv/api/app.js', kind: 'script' },
  { what: 'node --import with separate value and --', exe: NODE, argv: ['node', '--import', './register.mjs', '--title', 'api', '--', 'dist/main.js', '--port', '3000'], cwd: '/srv/api', id: '/srv/api/dist/main.js', kind: 'script' },
  { what: 'node -e', exe: NODE, argv: ['node', '-e', 'require("https").get("https://192.0.2.1")'], id: 'node -e', kind: 'inline' },
  { what: 'Debian nodejs name', exe: '/usr/bin/nodejs', argv: ['nodejs', '/usr/share/nodejs/yarn/bin/yarn.js', 'install'], id: '/usr/share/nodejs/yarn/bin/yarn.js', kind: 'script' },
  // --- Ruby
  { what: 'fluentd', exe: '/usr/bin/ruby3.1', argv: ['/usr/bin/ruby3.1', '/usr/bin/fluentd', '-c', '/etc/fluent/fluent.conf'], id: '/usr/bin/fluentd', kind: 'script', interpreter: '/usr/bin/ruby3.1' },
  { what: 'td-agent fluentd with -E attached', exe: '/opt/td-agent/bin/ruby', argv: ['/opt/td-agent/bin/ruby', '-Eascii-8bit:ascii-8bit', '/opt/td-agent/bin/fluentd', '--log', '/var/log/td-agent/td-agent.log', '--daemon', '/var/run/td-agent/td-agent.pid'], id: '/opt/td-agent/bin/fluentd', kind: 'script' },
  { what: 'rails with -I dir -r lib', exe: '/usr/local/bin/ruby', argv: ['ruby', '-I', 'lib', '-r', 'bundler/setup', 'bin/rails', 'server'], cwd: '/app', id: '/app/bin/rails', kind: 'script' },
  { what: 'ruby -C dir', exe: '/usr/local/bin/ruby', argv: ['ruby', '-C', '/srv/jobs', 'run.rb'], cwd: '/', id: '/srv/jobs/run.rb', kind: 'script' },
  { what: 'ruby -e', exe: '/usr/bin/ruby3.1', argv: ['ruby', '-rnet/http', '-e', 'Net::HTTP.get(URI("https://192.0.2.1"))'], id: 'ruby -e', kind: 'inline' },
  // --- Perl
  { what: 'perl -w /usr/sbin/munin-node', exe: '/usr/bin/perl', argv: ['/usr/bin/perl', '-w', '/usr/sbin/munin-node'], id: '/usr/sbin/munin-node', kind: 'script', interpreter: '/usr/bin/perl' },
  { what: 'debconf frontend', exe: '/usr/bin/perl', argv: ['/usr/bin/perl', '/usr/share/debconf/frontend', '/var/lib/dpkg/info/tzdata.postinst', 'configure'], id: '/usr/share/debconf/frontend', kind: 'script' },
  { what: 'perl -M -e', exe: '/usr/bin/perl5.36', argv: ['perl', '-MIO::Socket::INET', '-e', 'IO::Socket::INET->new("192.0.2.1:80")'], id: 'perl -e', kind: 'inline' },
  { what: 'perl -lane', exe: '/usr/bin/perl', argv: ['perl', '-lane', 'print $F[0]', 'access.log'], id: 'perl -e', kind: 'inline' },
  { what: 'perl -I dir relative script', exe: '/usr/bin/perl', argv: ['perl', '-I', '/opt/lib', '-T', 'bin/check.pl'], cwd: '/opt', id: '/opt/bin/check.pl', kind: 'script' },
  // --- PHP
  { what: 'composer with -d', exe: '/usr/bin/php8.2', argv: ['php', '-d', 'memory_limit=-1', '/usr/local/bin/composer', 'install'], id: '/usr/local/bin/composer', kind: 'script', interpreter: '/usr/bin/php8.2' },
  { what: 'artisan queue worker', exe: '/usr/bin/php8.1', argv: ['php', 'artisan', 'queue:work', '--sleep=3', '--tries=3'], cwd: '/var/www/app', id: '/var/www/app/artisan', kind: 'script' },
  { what: 'php -f file', exe: '/usr/bin/php', argv: ['/usr/bin/php', '-q', '-f', 'cron.php'], cwd: '/var/www', id: '/var/www/cron.php', kind: 'script' },
  { what: 'php -r', exe: '/usr/bin/php8.2', argv: ['php', '-r', 'file_get_contents("https://192.0.2.1");'], id: 'php -r', kind: 'inline' },
  { what: 'php-fpm is not the CLI interpreter', exe: '/usr/sbin/php-fpm8.2', argv: ['php-fpm: pool www'], id: '/usr/sbin/php-fpm8.2', kind: 'executable' },
  // --- Shells
  { what: 'cron via /bin/sh -c (dash)', exe: '/usr/bin/dash', argv: ['/bin/sh', '-c', '/usr/local/bin/backup.sh > /dev/null 2>&1'], id: 'dash -c', kind: 'inline', interpreter: '/usr/bin/dash' },
  { what: 'bash -c', exe: '/usr/bin/bash', argv: ['bash', '-c', 'curl -s https://192.0.2.1/'], id: 'bash -c', kind: 'inline' },
  { what: 'bash -ec clustered', exe: '/usr/bin/bash', argv: ['/bin/bash', '-ec', 'apt-get update'], id: 'bash -c', kind: 'inline' },
  { what: 'bash -x script', exe: '/usr/bin/bash', argv: ['bash', '-x', 'deploy.sh'], cwd: '/root', id: '/root/deploy.sh', kind: 'script' },
  { what: 'sh init script', exe: '/usr/bin/dash', argv: ['/bin/sh', '/etc/init.d/networking', 'start'], id: '/etc/init.d/networking', kind: 'script' },
  { what: 'bash -o pipefail -e', exe: '/usr/bin/bash', argv: ['bash', '-o', 'pipefail', '+x', '-e', '/opt/ci/build.sh'], id: '/opt/ci/build.sh', kind: 'script' },
  { what: 'login shell', exe: '/usr/bin/bash', argv: ['-bash'], id: '/usr/bin/bash', kind: 'executable' },
  { what: 'zsh interactive', exe: '/usr/bin/zsh', argv: ['zsh'], id: '/usr/bin/zsh', kind: 'executable' },
  // --- More runtimes (dotnet, PowerShell, Deno, Bun, uWSGI) and Python application servers
  { what: 'dotnet app.dll (ASP.NET container entrypoint)', exe: '/usr/share/dotnet/dotnet', argv: ['dotnet', 'Shop.Api.dll'], cwd: '/app', id: '/app/Shop.Api.dll', kind: 'dotnet-assembly', interpreter: '/usr/share/dotnet/dotnet' },
  { what: 'dotnet exec with host options', exe: '/usr/lib/dotnet/dotnet', argv: ['/usr/lib/dotnet/dotnet', 'exec', '--runtimeconfig', '/opt/svc/svc.runtimeconfig.json', '--depsfile', '/opt/svc/svc.deps.json', '/opt/svc/svc.dll', '--urls', 'http://0.0.0.0:5000'], id: '/opt/svc/svc.dll', kind: 'dotnet-assembly' },
  { what: 'dotnet run is the SDK', exe: '/usr/share/dotnet/dotnet', argv: ['dotnet', 'run', '--project', 'src/Api'], cwd: '/src', id: '/usr/share/dotnet/dotnet', kind: 'executable' },
  { what: 'Azure Pipelines agent listener', exe: '/home/vsts/agent/externals/node20/bin/node', argv: ['/home/vsts/agent/externals/node20/bin/node', '/home/vsts/agent/bin/AgentService.js'], id: '/home/vsts/agent/bin/AgentService.js', kind: 'script' },
  { what: 'pwsh -File', exe: '/opt/microsoft/powershell/7/pwsh', argv: ['pwsh', '-NoProfile', '-NonInteractive', '-File', './sync.ps1', '-Target', 'prod'], cwd: '/opt/jobs', id: '/opt/jobs/sync.ps1', kind: 'script', interpreter: '/opt/microsoft/powershell/7/pwsh' },
  { what: 'pwsh positional script with -ExecutionPolicy', exe: '/opt/microsoft/powershell/7/pwsh', argv: ['pwsh', '-ExecutionPolicy', 'Bypass', '/opt/jobs/report.ps1'], id: '/opt/jobs/report.ps1', kind: 'script' },
  { what: 'pwsh -Command', exe: '/opt/microsoft/powershell/7/pwsh', argv: ['pwsh', '-NoLogo', '-Command', 'Invoke-WebRequest https://192.0.2.1/'], id: 'pwsh -c', kind: 'inline' },
  { what: 'pwsh -EncodedCommand abbreviated -enc', exe: '/opt/microsoft/powershell/7/pwsh', argv: ['pwsh', '-nop', '-enc', 'SQBuAHYAbwBrAGUA'], id: 'pwsh -c', kind: 'inline' },
  { what: 'deno run with permission flags', exe: '/usr/local/bin/deno', argv: ['deno', 'run', '--allow-net', '--allow-env=PORT', '--config', 'deno.json', 'main.ts'], cwd: '/srv/edge', id: '/srv/edge/main.ts', kind: 'script', interpreter: '/usr/local/bin/deno' },
  { what: 'deno run remote module', exe: '/usr/local/bin/deno', argv: ['deno', 'run', '-A', 'https://deno.land/std@0.200.0/http/file_server.ts'], id: 'https://deno.land/std@0.200.0/http/file_server.ts', kind: 'script' },
  { what: 'deno serve', exe: '/usr/bin/deno', argv: ['deno', 'serve', '--port', '8000', 'server.ts'], cwd: '/app', id: '/app/server.ts', kind: 'script' },
  { what: 'deno eval', exe: '/usr/bin/deno', argv: ['deno', 'eval', 'await fetch("https://192.0.2.1/")'], id: 'deno eval', kind: 'inline' },
  { what: 'bun run file', exe: '/root/.bun/bin/bun', argv: ['bun', 'run', '--smol', 'src/index.ts'], cwd: '/srv/bot', id: '/srv/bot/src/index.ts', kind: 'script', interpreter: '/root/.bun/bin/bun' },
  { what: 'bun file directly', exe: '/usr/local/bin/bun', argv: ['bun', 'server.js'], cwd: '/home/bun/app', id: '/home/bun/app/server.js', kind: 'script' },
  { what: 'bun run package script', exe: '/usr/local/bin/bun', argv: ['bun', 'run', 'start'], cwd: '/app', id: 'bun run start', kind: 'package-script' },
  { what: 'bun --cwd', exe: '/usr/local/bin/bun', argv: ['bun', '--cwd', 'packages/api', 'run', 'index.ts'], cwd: '/repo', id: '/repo/packages/api/index.ts', kind: 'script' },
  { what: 'bun install is a subcommand', exe: '/usr/local/bin/bun', argv: ['bun', 'install', '--frozen-lockfile'], cwd: '/app', id: '/usr/local/bin/bun', kind: 'executable' },
  { what: 'uwsgi --module', exe: '/usr/local/bin/uwsgi', argv: ['uwsgi', '--http', ':8000', '--master', '--processes', '4', '--module', 'mysite.wsgi:application'], cwd: '/srv/mysite', id: 'mysite.wsgi', kind: 'python-module', interpreter: '/usr/local/bin/uwsgi' },
  { what: 'uwsgi --wsgi-file with --chdir', exe: '/usr/bin/uwsgi-core', argv: ['/usr/bin/uwsgi', '--chdir=/srv/flask', '--wsgi-file', 'app.py', '--callable', 'app', '--socket', '/run/uwsgi/app.sock'], cwd: '/', id: '/srv/flask/app.py', kind: 'script' },
  { what: 'uwsgi Debian init with two --ini', exe: '/usr/bin/uwsgi-core', argv: ['/usr/bin/uwsgi', '--ini', '/usr/share/uwsgi/conf/default.ini', '--ini', '/etc/uwsgi/apps-enabled/shop.ini', '--daemonize', '/var/log/uwsgi/app/shop.log'], id: '/etc/uwsgi/apps-enabled/shop.ini', kind: 'config' },
  { what: 'gunicorn in a venv with -c and -k', exe: '/usr/bin/python3.11', argv: ['/srv/venv/bin/python3', '/srv/venv/bin/gunicorn', '-c', 'gunicorn.conf.py', '-k', 'uvicorn.workers.UvicornWorker', 'billing.main:app'], cwd: '/srv', id: 'billing.main', kind: 'python-module', launcher: '/srv/venv/bin/gunicorn' },
  { what: 'gunicorn app from its config file only', exe: PY, argv: ['/usr/bin/python3', '/usr/bin/gunicorn', '--config', '/etc/gunicorn.d/app.py'], id: '/usr/bin/gunicorn', kind: 'script' },
  { what: 'gunicorn master title (setproctitle)', exe: '/usr/local/bin/python3.12', argv: ['gunicorn: master [config.wsgi:application]'], id: 'config.wsgi', kind: 'python-module', launcher: 'gunicorn' },
  { what: 'celery beat with --app=', exe: '/usr/local/bin/python3.11', argv: ['/usr/local/bin/python3.11', '/usr/local/bin/celery', '--app=shop.tasks:celery_app', 'beat', '-l', 'info'], id: 'shop.tasks', kind: 'python-module', launcher: '/usr/local/bin/celery' },
  { what: 'java @argfile only (unread)', exe: JDK17, argv: ['java', '@/opt/svc/launch.args'], id: '/opt/svc/launch.args', kind: 'java-argfile' },
  { what: 'java relative @argfile', exe: JDK17, argv: ['java', '-Xmx2g', '@conf/jvm.args'], cwd: '/opt/svc', id: '/opt/svc/conf/jvm.args', kind: 'java-argfile' },
  // --- Renamed processes (process.title, setproctitle, $0 =): one string in cmdline, no script in it
  { what: 'puma cluster worker title', exe: '/usr/local/bin/ruby', argv: ['puma: cluster worker 0: 4021 [app]'], cwd: '/srv/app', id: 'puma', kind: 'process-title', interpreter: '/usr/local/bin/ruby' },
  { what: 'sidekiq title with its load', exe: '/usr/bin/ruby3.1', argv: ['sidekiq 6.5.1 shop [0 of 10 busy]'], id: 'sidekiq', kind: 'process-title' },
  { what: 'unicorn worker title', exe: '/usr/bin/ruby3.1', argv: ['unicorn worker[2] -c /srv/app/config/unicorn.rb -E production -D'], id: 'unicorn', kind: 'process-title' },
  { what: 'celery setproctitle', exe: '/usr/local/bin/python3.11', argv: ['[celeryd: celery@worker-1:MainProcess] -active- (worker -A proj)'], id: 'celeryd', kind: 'process-title' },
  { what: 'node process.title', exe: NODE, argv: ['my-api'], cwd: '/srv/api', id: 'my-api', kind: 'process-title', interpreter: NODE },
  { what: 'npm sets its title', exe: NODE, argv: ['npm install'], cwd: '/srv/web', id: 'npm', kind: 'process-title' },
  { what: 'PM2 daemon title', exe: NODE, argv: ['PM2 v5.3.0: God Daemon (/root/.pm2)'], id: 'PM2', kind: 'process-title' },
  { what: 'a title that is a whole command line again', exe: NODE, argv: ['node /srv/app/server.js --port 8080'], id: '/srv/app/server.js', kind: 'script' },
  { what: 'perl daemon $0 with its role', exe: '/usr/bin/perl', argv: ['/usr/sbin/amavisd (master)'], id: '/usr/sbin/amavisd', kind: 'script' },
  { what: 'spamd child', exe: '/usr/bin/perl', argv: ['spamd child'], id: 'spamd', kind: 'process-title' },
  { what: 'a python REPL is not a title', exe: PY, argv: ['python3'], id: PY, kind: 'executable' },
  { what: 'a perl process titled as another interpreter\'s command line', exe: '/usr/bin/perl', argv: ['/bin/sh -c /tmp/.x/run'], id: '/bin/sh', kind: 'script', interpreter: '/usr/bin/perl' },
  { what: 'a login shell is not a title', exe: '/usr/bin/bash', argv: ['-bash'], id: '/usr/bin/bash', kind: 'executable' },
  // --- Not interpreters
  { what: 'sshd', exe: '/usr/sbin/sshd', argv: ['sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups'], id: '/usr/sbin/sshd', kind: 'executable' },
  { what: 'curl', exe: '/usr/bin/curl', argv: ['curl', '-s', 'https://192.0.2.1/'], id: '/usr/bin/curl', kind: 'executable' },
  { what: 'AWS CLI (PyInstaller binary)', exe: '/usr/local/aws-cli/v2/2.15.0/dist/aws', argv: ['/usr/local/bin/aws', 's3', 'ls'], id: '/usr/local/aws-cli/v2/2.15.0/dist/aws', kind: 'executable' },
  { what: 'exe unreadable: argv[0]', argv: ['/usr/sbin/nginx', '-g', 'daemon off;'], id: '/usr/sbin/nginx', kind: 'executable' },
  { what: 'replaced binary (deleted)', exe: '/usr/sbin/chronyd (deleted)', argv: ['/usr/sbin/chronyd', '-F', '1'], id: '/usr/sbin/chronyd', kind: 'executable' },
  { what: 'kernel thread', argv: [], id: '', kind: 'unknown' },
];
