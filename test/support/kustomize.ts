import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";

// `kustomize build` for the part of kustomization.yaml that deploy/kubernetes uses (resources,
// namespace, images). No npm package builds kustomizations and kustomize itself is a Go program,
// so this small resolver stands in; it refuses any field it does not implement rather than
// building something kustomize would not. deploy-manifests.test.ts compares it with
// `kubectl kustomize` where kubectl is installed.

type Obj = Record<string, any>;

const SUPPORTED = new Set(["apiVersion", "kind", "namespace", "resources", "images"]);

/** Kinds that live outside namespaces (the namespace transformer leaves them alone). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "RuntimeClass",
  "IngressClass",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "APIService",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "ClusterTriggerAuthentication",
]);

interface ImageRule {
  readonly name: string;
  readonly newName?: string;
  readonly newTag?: string;
  readonly digest?: string;
}

function kustomizationFile(dir: string): string {
  for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new Error(`${dir}: no kustomization.yaml`);
}

/** `repo/name:tag` or `repo/name@sha256:...` with the rule applied, as kustomize's image transformer does. */
function applyImage(image: string, rules: readonly ImageRule[]): string {
  for (const rule of rules) {
    if (image !== rule.name && !image.startsWith(`${rule.name}:`) && !image.startsWith(`${rule.name}@`))
      continue;
    const rest = image.slice(rule.name.length);
    const suffix = rule.digest ? `@${rule.digest}` : rule.newTag ? `:${rule.newTag}` : rest;
    return `${rule.newName ?? rule.name}${suffix}`;
  }
  return image;
}

/** Every containers / initContainers / ephemeralContainers list in an object, at any depth. */
function forEachContainer(node: unknown, visit: (c: Obj) => void): void {
  if (Array.isArray(node)) for (const v of node) forEachContainer(v, visit);
  else if (node && typeof node === "object")
    for (const [key, value] of Object.entries(node as Obj)) {
      if (["containers", "initContainers", "ephemeralContainers"].includes(key) && Array.isArray(value))
        for (const c of value) if (c && typeof c === "object") visit(c as Obj);
      forEachContainer(value, visit);
    }
}

/** The objects `kustomize build dir` prints, in resource order. */
export function kustomizeBuild(dir: string): Obj[] {
  const file = kustomizationFile(dir);
  const k = parse(readFileSync(file, "utf8")) as Obj;
  if (k.kind !== "Kustomization" || !String(k.apiVersion).startsWith("kustomize.config.k8s.io/"))
    throw new Error(`${file}: not a Kustomization (${k.apiVersion} ${k.kind})`);
  for (const key of Object.keys(k))
    if (!SUPPORTED.has(key)) throw new Error(`${file}: field "${key}" is not implemented by this resolver`);

  const objects: Obj[] = [];
  for (const entry of (k.resources ?? []) as string[]) {
    if (/^[a-z]+:\/\//.test(entry)) throw new Error(`${file}: remote resource ${entry} is not supported`);
    const path = join(dir, entry);
    if (!existsSync(path)) throw new Error(`${file}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) objects.push(...kustomizeBuild(path));
    else
      for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
        if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
        const o = doc.toJS() as Obj | null;
        if (o === null) continue;
        if (!o.apiVersion || !o.kind || !o.metadata?.name)
          throw new Error(`${path}: an object without apiVersion, kind or metadata.name`);
        objects.push(o);
      }
  }

  const seen = new Set<string>();
  for (const o of objects) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    const key = `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    if (seen.has(key)) throw new Error(`${file}: ${o.kind} ${o.metadata.name} is defined twice`);
    seen.add(key);
    const rules = (k.images ?? []) as ImageRule[];
    forEachContainer(o, (c) => {
      if (typeof c.image === "string") c.image = applyImage(c.image, rules);
    });
  }
  return objects;
}
