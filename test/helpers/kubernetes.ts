// Renders deploy/kubernetes with kustomize and validates the objects against the Kubernetes API's
// own OpenAPI document, strictly. Both come from .ci/setup-kustomize.sh (Debian's packages).
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { describeRun, run } from './run.ts';

// ajv-formats is CommonJS: its plugin is the module's `default` export property.
const addFormats = ajvFormats.default;

/** The Kubernetes release whose API the manifests are validated against (its OpenAPI document's info.version). */
export const KUBERNETES_VERSION = 'v1.27.0';
const OPENAPI_DOCUMENT = process.env.KUBERNETES_OPENAPI_DOCUMENT ?? `/usr/local/share/kubernetes-openapi/${KUBERNETES_VERSION}/swagger.json`;
const KUSTOMIZE = process.env.KUSTOMIZE_BIN ?? 'kustomize';
const SETUP_HINT = 'install it with `bash .ci/setup-kustomize.sh` (as root)';

export const MANIFESTS_DIR = new URL('../../deploy/kubernetes/', import.meta.url).pathname;
export const OVERLAYS = ['load-balancer', 'ingress'] as const;
/** Where base/kustomization.yaml's secretGenerator reads the operator's Redis password, inside the manifests folder. */
export const PASSWORD_FILE = 'base/secrets/redis_password';
/** Where components/sentinel's secretGenerator reads the replication and sentinel passwords. */
export const HA_PASSWORD_FILES = { replication: 'components/sentinel/secrets/replication_password', sentinel: 'components/sentinel/secrets/sentinel_password' } as const;

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export type Labels = Record<string, string>;
export interface Selector { matchLabels?: Labels; matchExpressions?: { key: string; operator: string; values?: string[] }[] }
interface NetworkPolicyRule { from?: { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: unknown }[]; ports?: { protocol?: string; port?: number | string }[] }
export interface NetworkPolicy extends KubernetesObject { spec: { podSelector: Selector; policyTypes?: string[]; ingress?: NetworkPolicyRule[] } }

/** A label selector's verdict on a set of labels (matchLabels and the four operators). */
export const selects = (selector: Selector, labels: Labels): boolean =>
  Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value)
  && (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In': return labels[key] !== undefined && values.includes(labels[key]);
      case 'NotIn': return labels[key] === undefined || !values.includes(labels[key]);
      case 'Exists': return key in labels;
      case 'DoesNotExist': return !(key in labels);
      default: throw new Error(`selector operator ${operator}`);
    }
  });

/** Who connects: a pod (its namespace's labels and its own) or a client outside the cluster. */
export type Source = { namespaceLabels: Labels; podLabels: Labels } | 'outside the cluster';

/**
 * Whether the namespace's NetworkPolicies let `source` open a TCP connection to a pod labelled
 * `target` on `port` (Kubernetes' semantics: a pod selected by any ingress policy is isolated,
 * and then only what one of those policies' rules allows gets in).
 */
export const allows = (policies: NetworkPolicy[], namespaceLabels: Labels, source: Source, target: Labels, port: number): boolean => {
  const isolating = policies.filter((policy) =>
    selects(policy.spec.podSelector, target) && (policy.spec.policyTypes ?? ['Ingress']).includes('Ingress'));
  if (isolating.length === 0) return true;
  const peerMatches = (peer: NonNullable<NetworkPolicyRule['from']>[number]): boolean => {
    if (peer.ipBlock !== undefined) throw new Error('ipBlock peers are not modelled by this check');
    if (source === 'outside the cluster') return false;
    const namespaceOk = peer.namespaceSelector
      ? selects(peer.namespaceSelector, source.namespaceLabels)
      : source.namespaceLabels === namespaceLabels;
    return namespaceOk && (peer.podSelector ? selects(peer.podSelector, source.podLabels) : true);
  };
  return isolating.some((policy) => (policy.spec.ingress ?? []).some((rule) =>
    (rule.from === undefined || rule.from.some(peerMatches))
    && (rule.ports === undefined || rule.ports.some((allowed) => {
      if (typeof allowed.port === 'string') throw new Error('named ports are not modelled by this check');
      return (allowed.protocol ?? 'TCP') === 'TCP' && (allowed.port === undefined || allowed.port === port);
    }))));
};

const isKubernetesObject = (value: unknown): value is KubernetesObject => {
  if (typeof value !== 'object' || value === null) return false;
  const { apiVersion, kind, metadata } = value as Record<string, unknown>;
  return typeof apiVersion === 'string' && typeof kind === 'string' && typeof metadata === 'object' && metadata !== null
    && typeof (metadata as Record<string, unknown>).name === 'string';
};

/** Parses kustomize's output: YAML documents, each one object. */
export const parseManifests = (yamlText: string): KubernetesObject[] =>
  parseAllDocuments(yamlText).map((document, index) => {
    if (document.errors.length > 0) throw new Error(`document ${index}: ${document.errors.map(String).join('; ')}`);
    const value: unknown = document.toJS();
    if (!isKubernetesObject(value)) throw new Error(`document ${index} is no Kubernetes object (apiVersion, kind, metadata.name)`);
    return value;
  });

/** `kustomize build DIR`; fails (never skips) when kustomize is missing. */
export const kustomizeBuild = async (dir: string): Promise<KubernetesObject[]> => {
  const args = ['build', dir];
  const result = await run(KUSTOMIZE, args, { timeoutMs: 30_000 });
  if (result.code !== 0) {
    const hint = result.failure?.includes('not installed') ? `\n${SETUP_HINT}` : '';
    throw new Error(describeRun(KUSTOMIZE, args, result) + hint);
  }
  return parseManifests(result.stdout);
};

/**
 * A copy of deploy/kubernetes in a temporary folder with the operator's password files made (as
 * docs/kubernetes.md says), so the overlays render without a secret in the repository.
 */
export const manifestsCopy = async (password: string): Promise<{ dir: string; remove: () => Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), 'vc-kubernetes-'));
  await cp(MANIFESTS_DIR, dir, { recursive: true });
  await writeFile(join(dir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'base/secrets/admin_token'), 'an-admin-token-for-the-tests\n', { mode: 0o600 });
  for (const [user, file] of Object.entries(HA_PASSWORD_FILES)) await writeFile(join(dir, file), `${user}-${password}\n`, { mode: 0o600 });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
};

type Schema = Record<string, unknown>;

/**
 * The OpenAPI document's definitions as JSON Schema (draft-07), made strict: the document allows
 * what it does not list (the API server's default is to drop unknown fields with a warning); here
 * every object that lists its properties gets `additionalProperties: false`, as kubectl's
 * `--validate=strict` and the server's strict field validation reject unknown fields. The
 * document's own extensions (x-kubernetes-*) are left out: they guide merging, not validation.
 */
const strictSchema = (schema: Schema): Schema => {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([name, property]) => [name, strictSchema(property)]));
    } else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object' && value !== null) {
      out[key] = strictSchema(value as Schema);
    } else {
      out[key] = value;
    }
  }
  if (out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
};

// Two types the document calls strings that the API decodes from numbers too: IntOrString (a
// port, maxUnavailable: 1 or "25%") and Quantity (cpu: 1 or "500m"). Version 2 of OpenAPI cannot
// say "number or string"; kubectl's and the server's decoders accept both.
const API_DECODES = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: ['integer', 'string'] },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: ['number', 'string'] },
};

// Base64 as Go decodes it for []byte fields (Secret data): line ends are ignored.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type Validate = (object: KubernetesObject) => string[];

interface OpenApiDocument {
  info: { version: string };
  definitions: Record<string, Schema & { 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[] }>;
}

/** A validator for any object of the pinned Kubernetes version's API; it answers the errors (none: valid). */
export const kubernetesValidator = async (): Promise<Validate> => {
  let text: string;
  try {
    text = await readFile(OPENAPI_DOCUMENT, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the Kubernetes OpenAPI document ${OPENAPI_DOCUMENT} (${(error as Error).message}): ${SETUP_HINT}`, { cause: error });
  }
  const document = JSON.parse(text) as OpenApiDocument;
  if (document.info.version !== KUBERNETES_VERSION) {
    throw new Error(`${OPENAPI_DOCUMENT} is the API of Kubernetes ${document.info.version}, not ${KUBERNETES_VERSION}`);
  }

  const definitions: Record<string, Schema> = {};
  const byKind = new Map<string, string>();
  for (const [name, definition] of Object.entries(document.definitions)) {
    definitions[name] = name in API_DECODES ? API_DECODES[name as keyof typeof API_DECODES] : strictSchema(definition);
    for (const { group, version, kind } of definition['x-kubernetes-group-version-kind'] ?? []) {
      byKind.set(`${group ? `${group}/` : ''}${version} ${kind}`, name);
    }
  }

  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv, ['date-time']);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', { type: 'string', validate: (s: string) => BASE64.test(s.replace(/[\r\n]/g, '')) });
  ajv.addSchema({ $id: 'kubernetes', definitions });

  const compiled = new Map<string, ValidateFunction>();
  const describe = (error: ErrorObject): string => {
    const extra = 'additionalProperty' in error.params ? ` (${String(error.params.additionalProperty)})` : '';
    return `${error.instancePath || '/'} ${error.message ?? error.keyword}${extra}`;
  };

  return (object) => {
    const definition = byKind.get(`${object.apiVersion} ${object.kind}`);
    if (definition === undefined) return [`${object.apiVersion} ${object.kind} is no kind of the Kubernetes ${KUBERNETES_VERSION} API`];
    let validate = compiled.get(definition);
    if (validate === undefined) {
      validate = ajv.getSchema(`kubernetes#/definitions/${definition}`);
      if (validate === undefined) throw new Error(`no schema for ${definition}`);
      compiled.set(definition, validate);
    }
    return validate(object) ? [] : (validate.errors ?? []).map(describe);
  };
};
