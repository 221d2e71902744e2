// deploy/kubernetes: every overlay rendered by the real kustomize, every object validated against
// the Kubernetes API's OpenAPI schemas (strictly: an unknown field or a wrong type fails, as the
// broken manifests below prove), and what the manifests promise checked on the rendered objects.
// Kubernetes itself cannot run here: these manifests are validated, not run.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  KUBERNETES_VERSION,
  OVERLAYS,
  PASSWORD_FILE,
  allows,
  selects,
  kubernetesValidator,
  kustomizeBuild,
  manifestsCopy,
  type KubernetesObject,
  type Labels,
  type NetworkPolicy,
  type Selector,
  type Source,
  type Validate,
} from '../helpers/kubernetes.ts';
import { run } from '../helpers/run.ts';

type Overlay = (typeof OVERLAYS)[number];

// Just the parts of the objects these checks read (the validator has checked all of it).
interface SecurityContext {
  runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean;
  privileged?: boolean; capabilities?: { add?: string[]; drop?: string[] }; seccompProfile?: { type: string };
}
interface Probe { httpGet?: { path: string; port: number | string }; exec?: { command: string[] }; tcpSocket?: { port: number | string } }
interface Container {
  name: string; image: string; ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[]; envFrom?: { configMapRef?: { name: string } }[];
  volumeMounts?: VolumeMount[];
  livenessProbe?: Probe; readinessProbe?: Probe; securityContext?: SecurityContext;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface Volume { name: string; secret?: { secretName: string }; hostPath?: unknown }
interface VolumeMount { name: string; mountPath: string; readOnly?: boolean }
interface PodSpec {
  automountServiceAccountToken?: boolean; enableServiceLinks?: boolean; hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean;
  securityContext?: SecurityContext & { fsGroup?: number };
  containers: Container[]; initContainers?: Container[];
  volumes?: Volume[];
}
interface Workload extends KubernetesObject { spec: { replicas?: number; selector: Selector; template: { metadata: { labels: Labels }; spec: PodSpec } } }

const PASSWORD = 'a-test-password-made-by-the-test';
// The image users' uids (web/Dockerfile: node; redis/Dockerfile: redis; the nginx image's nginx).
const IMAGE_UIDS: Record<string, number> = { web: 1000, nginx: 101, redis: 999 };

const byKind = <T extends KubernetesObject>(objects: KubernetesObject[], kind: string): T[] =>
  objects.filter((object) => object.kind === kind) as T[];
const find = (objects: KubernetesObject[], kind: string, name: string): KubernetesObject => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  assert.ok(found, `no ${kind} ${name}`);
  return found;
};
const workloads = (objects: KubernetesObject[]): Workload[] =>
  objects.filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet') as Workload[];
const component = (workload: Workload): string => workload.spec.template.metadata.labels['app.kubernetes.io/component'] ?? '';
const workload = (objects: KubernetesObject[], name: string): Workload => {
  const found = workloads(objects).find((candidate) => component(candidate) === name);
  assert.ok(found, `no workload of ${name}`);
  return found;
};
const container = (objects: KubernetesObject[], name: string): Container => {
  const found = workload(objects, name).spec.template.spec.containers.find((candidate) => candidate.name === name);
  assert.ok(found, `no container ${name}`);
  return found;
};

/** The environment a container gets: its env and the ConfigMaps it loads (ConfigMap values lose to env). */
const environment = (objects: KubernetesObject[], of: Container): Record<string, string> => {
  const result: Record<string, string> = {};
  for (const source of of.envFrom ?? []) {
    assert.ok(source.configMapRef, 'envFrom is a ConfigMap');
    const configMap = find(objects, 'ConfigMap', source.configMapRef.name) as KubernetesObject & { data: Record<string, string> };
    Object.assign(result, configMap.data);
  }
  for (const variable of of.env ?? []) {
    assert.ok(variable.value !== undefined, `${variable.name} has a value`);
    result[variable.name] = variable.value;
  }
  return result;
};

/** Compose's `${NAME:-default}` as the stack gets it without settings: the default. */
const composeDefault = (value: unknown): string => String(value).replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1');
/** Bytes of a memory size in Compose's (256M) or Kubernetes' (256Mi) notation, both binary. */
const bytes = (size: string): number => {
  const match = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(size);
  assert.ok(match?.[1], `memory size ${size}`);
  const units: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };
  return Number(match[1]) * (units[(match[2] ?? '').charAt(0)] ?? Number.NaN);
};

describe(`Kubernetes manifests (deploy/kubernetes), validated against the Kubernetes ${KUBERNETES_VERSION} API schemas`, () => {
  let validate: Validate;
  let copy: Awaited<ReturnType<typeof manifestsCopy>> | undefined;
  const rendered = {} as Record<Overlay, KubernetesObject[]>;

  before(async () => {
    validate = await kubernetesValidator();
    copy = await manifestsCopy(PASSWORD);
    const { dir } = copy;
    for (const overlay of OVERLAYS) rendered[overlay] = await kustomizeBuild(join(dir, 'overlays', overlay));
  });
  after(async () => {
    await copy?.remove();
  });

  it('every overlay renders, and every object it renders is valid for the API, unknown fields rejected', () => {
    for (const overlay of OVERLAYS) {
      const kinds = new Set(rendered[overlay].map((object) => object.kind));
      for (const kind of ['Namespace', 'Deployment', 'StatefulSet', 'Service', 'Secret', 'ConfigMap', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']) {
        assert.ok(kinds.has(kind), `${overlay} renders a ${kind}`);
      }
      for (const object of rendered[overlay]) {
        assert.deepEqual(validate(object), [], `${overlay}: ${object.kind} ${object.metadata.name}`);
        if (object.kind !== 'Namespace') assert.equal(object.metadata.namespace, 'visit-counter', `${object.kind} ${object.metadata.name}`);
      }
    }
    assert.ok(rendered.ingress.some((object) => object.kind === 'Ingress'), 'the ingress overlay renders an Ingress');
  });

  describe('the validator rejects broken manifests', () => {
    const deployment = (): Workload => structuredClone(find(rendered['load-balancer'], 'Deployment', 'web') as Workload);

    it('an unknown field, however deep (a misspelt httpGet)', () => {
      const broken = deployment();
      const probe = broken.spec.template.spec.containers[0]?.livenessProbe as Record<string, unknown>;
      probe.httpGett = probe.httpGet;
      delete probe.httpGet;
      assert.deepEqual(validate(broken), ['/spec/template/spec/containers/0/livenessProbe must NOT have additional properties (httpGett)']);
    });

    it('a field of the wrong type (a port as a string, a boolean as a string)', () => {
      const broken = deployment() as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
      const [first] = broken.spec.template.spec.containers;
      assert.ok(first);
      (first.ports as Record<string, unknown>[])[0] = { name: 'http', containerPort: '3000' };
      (first.securityContext as Record<string, unknown>).readOnlyRootFilesystem = 'true';
      assert.deepEqual(validate(broken as unknown as KubernetesObject).sort(), [
        '/spec/template/spec/containers/0/ports/0/containerPort must be integer',
        '/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem must be boolean',
      ]);
    });

    it('a missing required field, and a kind or API version the API does not have', () => {
      const broken = deployment() as unknown as { spec: Record<string, unknown> };
      delete broken.spec.selector;
      assert.deepEqual(validate(broken as unknown as KubernetesObject), ["/spec must have required property 'selector'"]);
      const pdb = structuredClone(find(rendered['load-balancer'], 'PodDisruptionBudget', 'web'));
      assert.deepEqual(validate({ ...pdb, apiVersion: 'policy/v1beta1' }), [`policy/v1beta1 PodDisruptionBudget is no kind of the Kubernetes ${KUBERNETES_VERSION} API`]);
    });

    it('a broken overlay, rendered by kustomize like the real ones: both mistakes reported', async () => {
      assert.ok(copy);
      const overlay = join(copy.dir, 'overlays', 'broken-by-the-test');
      await mkdir(overlay);
      await writeFile(join(overlay, 'kustomization.yaml'), [
        'resources: [../load-balancer]',
        'patches:',
        '  - patch: |-',
        '      {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},',
        '       "spec": {"template": {"spec": {"containers": [{"name": "web", "resources": {"limit": {"cpu": "2"}}}]}}}}',
        '  - patch: |-',
        '      {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"}, "spec": {"minReplicas": "3"}}',
        '',
      ].join('\n'));
      const errors = (await kustomizeBuild(overlay)).flatMap((object) => validate(object).map((error) => `${object.kind} ${error}`));
      assert.deepEqual(errors.sort(), [
        'Deployment /spec/template/spec/containers/0/resources must NOT have additional properties (limit)',
        'HorizontalPodAutoscaler /spec/minReplicas must be integer',
      ]);
    });
  });

  it('the web replicas: liveness on /healthz, readiness on /readyz, on the port the app listens on', () => {
    for (const overlay of OVERLAYS) {
      const web = container(rendered[overlay], 'web');
      const port = web.ports?.find((candidate) => candidate.name === 'http');
      assert.equal(port?.containerPort, 3000);
      assert.equal(environment(rendered[overlay], web).PORT, String(port.containerPort));
      assert.deepEqual(web.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
      assert.deepEqual(web.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
      assert.deepEqual(container(rendered[overlay], 'nginx').readinessProbe?.httpGet, { path: '/nginx-health', port: 'http' });
      // Redis is ready once the app's user can call the counter functions (compose.yaml's healthcheck).
      const redisReady = container(rendered[overlay], 'redis').readinessProbe?.exec?.command.join(' ') ?? '';
      assert.match(redisReady, /redis-cli --user counter .*fcall_ro counter_version 0/);
    }
  });

  it('every pod: non-root as its image user, read-only root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, bounded resources', () => {
    for (const overlay of OVERLAYS) {
      const namespace = find(rendered[overlay], 'Namespace', 'visit-counter');
      assert.equal(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
      for (const each of workloads(rendered[overlay])) {
        const pod = each.spec.template.spec;
        const name = `${overlay}: ${each.kind} ${each.metadata.name}`;
        assert.equal(pod.securityContext?.runAsNonRoot, true, name);
        assert.equal(pod.securityContext.runAsUser, IMAGE_UIDS[component(each)], `${name} runs as its image's user`);
        assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault', name);
        assert.equal(pod.automountServiceAccountToken, false, `${name}: no API token`);
        assert.equal(pod.enableServiceLinks, false, `${name}: no REDIS_PORT=tcp://... from the redis Service`);
        assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, name);
        assert.ok((pod.volumes ?? []).every((volume) => volume.hostPath === undefined), `${name}: no hostPath`);
        for (const each of [...pod.containers, ...(pod.initContainers ?? [])]) {
          const context = each.securityContext;
          const what = `${name}, container ${each.name}`;
          assert.equal(context?.runAsNonRoot, true, what);
          assert.equal(context.readOnlyRootFilesystem, true, what);
          assert.equal(context.allowPrivilegeEscalation, false, what);
          assert.notEqual(context.privileged, true, what);
          assert.deepEqual(context.capabilities, { drop: ['ALL'] }, what);
          assert.equal(context.seccompProfile?.type, 'RuntimeDefault', what);
          for (const resource of ['cpu', 'memory']) {
            assert.ok(each.resources?.requests?.[resource], `${what} requests ${resource}`);
            assert.ok(each.resources.limits?.[resource], `${what} is limited in ${resource}`);
          }
        }
      }
    }
  });

  it('the same settings and limits as compose.yaml', async () => {
    const compose = parse(await readFile(new URL('../../compose.yaml', import.meta.url), 'utf8')) as {
      services: Record<string, { environment: Record<string, unknown>; deploy: { resources: { limits: { cpus: string; memory: string } } } }>;
    };
    // Where the two differ by design: how nginx finds the replicas (the cluster's DNS, a FQDN).
    const differs = new Set(['NGINX_RESOLVER', 'WEB_UPSTREAM']);
    for (const overlay of OVERLAYS) {
      for (const service of ['web', 'nginx', 'redis']) {
        const { environment: composeEnvironment, deploy } = compose.services[service] ?? assert.fail(`compose.yaml has no ${service}`);
        const ours = container(rendered[overlay], service);
        const env = environment(rendered[overlay], ours);
        for (const [name, value] of Object.entries(composeEnvironment)) {
          if (!differs.has(name)) assert.equal(env[name], composeDefault(value), `${overlay}: ${service}'s ${name}`);
        }
        assert.equal(bytes(ours.resources?.limits?.memory ?? ''), bytes(deploy.resources.limits.memory), `${service}'s memory limit`);
        assert.equal(ours.resources?.limits?.cpu, deploy.resources.limits.cpus, `${service}'s CPU limit`);
      }
    }
  });

  it('network policies: only nginx reaches web, only web reaches Redis; clients reach nginx (through the Ingress controller only, in the ingress overlay)', () => {
    for (const overlay of OVERLAYS) {
      const objects = rendered[overlay];
      const policies = byKind<NetworkPolicy>(objects, 'NetworkPolicy');
      const namespaceLabels = { 'kubernetes.io/metadata.name': 'visit-counter', ...find(objects, 'Namespace', 'visit-counter').metadata.labels };
      const pod = (name: string): Source => ({ namespaceLabels, podLabels: workload(objects, name).spec.template.metadata.labels });
      const sources: Record<string, Source> = {
        'a client outside the cluster': 'outside the cluster',
        'the Ingress controller': { namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' }, podLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
        'another pod of the namespace': { namespaceLabels, podLabels: { app: 'debug' } },
        nginx: pod('nginx'),
        web: pod('web'),
        redis: pod('redis'),
      };
      const targets = { nginx: 8080, web: 3000, redis: 6379 };
      const allowedSources = {
        nginx: overlay === 'ingress' ? ['the Ingress controller'] : Object.keys(sources),
        web: ['nginx'],
        redis: ['web'],
      };
      for (const [target, port] of Object.entries(targets) as [keyof typeof targets, number][]) {
        const labels = workload(objects, target).spec.template.metadata.labels;
        const reaching = Object.keys(sources).filter((source) => allows(policies, namespaceLabels, sources[source] ?? 'outside the cluster', labels, port));
        assert.deepEqual(reaching, allowedSources[target], `${overlay}: who reaches ${target} on ${port}`);
        // Any other port of the pod: nobody, not even its allowed peers.
        const otherPort = Object.keys(sources).filter((source) => allows(policies, namespaceLabels, sources[source] ?? 'outside the cluster', labels, 9229));
        assert.deepEqual(otherPort, [], `${overlay}: ${target} on another port`);
      }
    }
  });

  it('the autoscaler scales the web Deployment (which leaves the number of replicas to it); the disruption budgets cover exactly their pods', () => {
    for (const overlay of OVERLAYS) {
      const objects = rendered[overlay];
      const [hpa, ...more] = byKind<KubernetesObject & { spec: { scaleTargetRef: { apiVersion: string; kind: string; name: string }; minReplicas: number; maxReplicas: number } }>(objects, 'HorizontalPodAutoscaler');
      assert.ok(hpa && more.length === 0, 'one autoscaler');
      const target = hpa.spec.scaleTargetRef;
      assert.deepEqual(target, { apiVersion: 'apps/v1', kind: 'Deployment', name: workload(objects, 'web').metadata.name });
      assert.equal((find(objects, 'Deployment', target.name) as Workload).spec.replicas, undefined, 'the Deployment sets no replicas');
      assert.ok(hpa.spec.minReplicas >= 3 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
      assert.ok(container(objects, 'web').resources?.requests?.cpu, 'CPU utilisation needs a CPU request');

      const budgets = byKind<KubernetesObject & { spec: { selector: Selector; maxUnavailable?: number } }>(objects, 'PodDisruptionBudget');
      assert.deepEqual(budgets.map((budget) => budget.metadata.name).sort(), ['nginx', 'web']);
      for (const budget of budgets) {
        const covered = workloads(objects).filter((each) => selects(budget.spec.selector, each.spec.template.metadata.labels));
        assert.deepEqual(covered.map(component), [budget.metadata.name], `${overlay}: PodDisruptionBudget ${budget.metadata.name} covers`);
        assert.equal(budget.spec.maxUnavailable, 1);
      }
      // Each workload's own selector picks its own pods and no other workload's.
      for (const each of workloads(objects)) {
        const picked = workloads(objects).filter((other) => selects(each.spec.selector, other.spec.template.metadata.labels));
        assert.deepEqual(picked, [each], `${each.kind} ${each.metadata.name}'s selector`);
      }
    }
  });

  it('Services select their pods on ports the containers have; nginx resolves the headless web Service by its full name', () => {
    for (const overlay of OVERLAYS) {
      const objects = rendered[overlay];
      for (const service of byKind<KubernetesObject & { spec: { selector: Labels; ports: { port: number; targetPort: string | number }[] } }>(objects, 'Service')) {
        const selected = workloads(objects).filter((each) => selects({ matchLabels: service.spec.selector }, each.spec.template.metadata.labels));
        assert.equal(selected.length, 1, `Service ${service.metadata.name} selects one workload`);
        const ports = selected[0]?.spec.template.spec.containers.flatMap((each) => each.ports ?? []) ?? [];
        for (const { targetPort } of service.spec.ports) {
          assert.ok(ports.some((port) => port.name === targetPort || port.containerPort === targetPort), `Service ${service.metadata.name}'s targetPort ${targetPort}`);
        }
      }
      const web = find(objects, 'Service', 'web') as KubernetesObject & { spec: { clusterIP?: string; ports: { port: number }[] } };
      assert.equal(web.spec.clusterIP, 'None', 'headless: its name lists every ready replica');
      const nginxEnv = environment(objects, container(objects, 'nginx'));
      assert.equal(nginxEnv.WEB_UPSTREAM, `web.${web.metadata.namespace ?? ''}.svc.cluster.local:${web.spec.ports[0]?.port ?? 0}`);
      assert.equal(environment(objects, container(objects, 'web')).REDIS_HOST, find(objects, 'Service', 'redis').metadata.name);
      if (overlay === 'load-balancer') {
        assert.deepEqual((find(objects, 'Service', 'nginx') as KubernetesObject & { spec: Record<string, unknown> }).spec.externalTrafficPolicy, 'Local', 'keeps the client address');
      } else {
        const ingress = find(objects, 'Ingress', 'visit-counter') as KubernetesObject & { spec: { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] } };
        assert.equal(ingress.spec.rules[0]?.http.paths[0]?.backend.service.name, 'nginx');
      }
    }
  });

  it('Redis keeps its data on a volume claim; the password is the operator\'s file, mounted read-only where REDIS_PASSWORD_FILE points, never in git', async () => {
    for (const overlay of OVERLAYS) {
      const objects = rendered[overlay];
      const redis = find(objects, 'StatefulSet', 'redis') as Workload & { spec: { volumeClaimTemplates: { metadata: { name: string } }[] } };
      const data = container(objects, 'redis').volumeMounts?.find((mount) => mount.mountPath === '/data');
      assert.ok(data && redis.spec.volumeClaimTemplates.some((claim) => claim.metadata.name === data.name), '/data is a volume claim');

      const [secret, ...more] = byKind<KubernetesObject & { data: Record<string, string> }>(objects, 'Secret');
      assert.ok(secret && more.length === 0, 'one Secret');
      assert.equal(Buffer.from(secret.data.redis_password ?? '', 'base64').toString().trimEnd(), PASSWORD);
      for (const name of ['web', 'redis']) {
        const secretName: string = secret.metadata.name;
        const volume: Volume | undefined = workload(objects, name).spec.template.spec.volumes?.find((candidate) => candidate.secret?.secretName === secretName);
        const mount: VolumeMount | undefined = container(objects, name).volumeMounts?.find((candidate) => candidate.name === volume?.name);
        assert.ok(volume && mount?.readOnly, `${name} mounts the Secret read-only`);
        assert.equal(environment(objects, container(objects, name)).REDIS_PASSWORD_FILE, `${mount.mountPath}/redis_password`);
      }
    }
    const ignored = await run('git', ['check-ignore', '--quiet', `deploy/kubernetes/${PASSWORD_FILE}`], { cwd: new URL('../..', import.meta.url).pathname });
    assert.equal(ignored.code, 0, `git ignores deploy/kubernetes/${PASSWORD_FILE}`);
  });

  it('images by name and tag only (your registry comes from kustomize\'s images:), one per component', () => {
    for (const overlay of OVERLAYS) {
      for (const each of workloads(rendered[overlay])) {
        for (const { image } of each.spec.template.spec.containers) {
          assert.match(image, new RegExp(`^visit-counter-${component(each)}:[0-9][0-9A-Za-z.-]*$`), `${overlay}: ${each.metadata.name}`);
        }
      }
    }
  });
});
