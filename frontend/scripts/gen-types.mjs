// Generates src/lib/schema.generated.ts, the TypeScript types of ../schema.graphql (the schema the
// server exports; a Rust test keeps that file equal to the code). One definition of the API types:
// the app's types in src/lib/api.ts are picked from these.
//
//   node scripts/gen-types.mjs           # (re)writes the file
//   node scripts/gen-types.mjs --check   # fails when the committed file differs (npm run check runs this)
//
// Statuses are `String!` in the schema, documented as a list ("ORDER_CREATED, ORDER_IN_PROGRESS or
// ..."); a field whose description is only such a list gets a union of those strings.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
	buildSchema,
	getNamedType,
	isEnumType,
	isInputObjectType,
	isListType,
	isNonNullType,
	isObjectType,
	isScalarType
} from 'graphql';

const FRONTEND = path.resolve(import.meta.dirname, '..');
export const SCHEMA = path.resolve(FRONTEND, '../schema.graphql');
export const OUTPUT = path.resolve(FRONTEND, 'src/lib/schema.generated.ts');

/** @type {Record<string, string>} */
const SCALARS = { ID: 'string', String: 'string', Int: 'number', Float: 'number', Boolean: 'boolean' };
const STATUS_LIST = /^([A-Z][A-Z0-9_]+)((, [A-Z][A-Z0-9_]+)*( or [A-Z][A-Z0-9_]+))?\.?$/;

/** @param {string} s */
const pascal = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * @param {string | null | undefined} description
 * @param {string} [indent]
 */
function doc(description, indent = '') {
	if (!description) return '';
	const lines = description.trim().split('\n');
	if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
	return `${indent}/**\n${lines.map((l) => `${indent} * ${l}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

/** The listed values of a field documented as "A, B or C.", or null. */
/**
 * @param {string | null | undefined} description
 * @returns {string[] | null}
 */
function listedValues(description) {
	const text = description?.trim();
	if (!text || !STATUS_LIST.test(text)) return null;
	return text.replace(/\.$/, '').split(/, | or /);
}

/**
 * @param {import('graphql').GraphQLType} type
 * @param {Map<string, string>} unions the union type of each `Type.field` that has one
 * @param {string} owner
 * @param {string} field
 * @returns {string}
 */
function tsType(type, unions, owner, field) {
	if (isNonNullType(type)) return inner(type.ofType, unions, owner, field);
	return `${inner(type, unions, owner, field)} | null`;
}

/**
 * @param {import('graphql').GraphQLType} type
 * @param {Map<string, string>} unions
 * @param {string} owner
 * @param {string} field
 * @returns {string}
 */
function inner(type, unions, owner, field) {
	if (isListType(type)) {
		const item = tsType(type.ofType, unions, owner, field);
		return item.includes('|') ? `(${item})[]` : `${item}[]`;
	}
	const union = unions.get(`${owner}.${field}`);
	if (union) return union;
	if (isScalarType(type)) return SCALARS[type.name] ?? 'unknown';
	if (isEnumType(type)) return type.name;
	return type.name;
}

/**
 * The TypeScript of a schema.
 * @param {string} sdl
 * @returns {string}
 */
export function generate(sdl) {
	const schema = buildSchema(sdl);
	const roots = new Set(
		[schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((t) => (t ? [t.name] : []))
	);
	const types = Object.values(schema.getTypeMap())
		.filter((t) => !t.name.startsWith('__'))
		.toSorted((a, b) => a.name.localeCompare(b.name));

	let out =
		'// GENERATED from ../schema.graphql by scripts/gen-types.mjs: do not edit.\n' +
		'// `npm run check` fails when this file and the schema differ; `node scripts/gen-types.mjs` rewrites it.\n';

	// Unions of documented status values, one per field that has them.
	/** @type {Map<string, string>} */
	const unions = new Map();
	for (const type of types) {
		if (!isObjectType(type)) continue;
		for (const field of Object.values(type.getFields())) {
			const values = getNamedType(field.type).name === 'String' && listedValues(field.description);
			if (!values) continue;
			const name = `${type.name}${pascal(field.name)}`;
			unions.set(`${type.name}.${field.name}`, name);
			out += `\nexport type ${name} = ${values.map((v) => `'${v}'`).join(' | ')};\n`;
			out += `export const ${name}Values = [${values.map((v) => `'${v}'`).join(', ')}] as const;\n`;
		}
	}

	for (const type of types) {
		if (isEnumType(type)) {
			out += `\n${doc(type.description)}export type ${type.name} = ${type
				.getValues()
				.map((v) => `'${v.name}'`)
				.join(' | ')};\n`;
		}
		if (isInputObjectType(type)) {
			// An argument's fields: those that may be null may also be left out.
			out += `\n${doc(type.description)}export interface ${type.name} {\n`;
			for (const field of Object.values(type.getFields())) {
				out += doc(field.description, '\t');
				const optional = !isNonNullType(field.type);
				out += `\t${field.name}${optional ? '?' : ''}: ${tsType(field.type, new Map(), '', '')};\n`;
			}
			out += '}\n';
		}
		if (!isObjectType(type)) continue;
		out += `\n${doc(type.description)}export interface ${type.name} {\n`;
		for (const field of Object.values(type.getFields())) {
			out += doc(field.description, '\t');
			out += `\t${field.name}: ${tsType(field.type, unions, type.name, field.name)};\n`;
		}
		out += '}\n';
		if (!roots.has(type.name)) continue;
		for (const field of Object.values(type.getFields())) {
			const name = `${type.name}${pascal(field.name)}Args`;
			if (field.args.length === 0) {
				out += `\nexport type ${name} = Record<string, never>;\n`;
				continue;
			}
			out += `\nexport interface ${name} {\n`;
			for (const arg of field.args) {
				const optional = !isNonNullType(arg.type);
				out += `\t${arg.name}${optional ? '?' : ''}: ${tsType(arg.type, new Map(), '', '')};\n`;
			}
			out += '}\n';
		}
	}
	return out;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename;
if (isMain) {
	const generated = generate(readFileSync(SCHEMA, 'utf8'));
	if (process.argv.includes('--check')) {
		let committed = '';
		try {
			committed = readFileSync(OUTPUT, 'utf8');
		} catch {}
		if (committed !== generated) {
			console.error(
				`${path.relative(process.cwd(), OUTPUT)} is not what ${path.relative(process.cwd(), SCHEMA)} generates: ` +
					'run `node scripts/gen-types.mjs` and commit the result.'
			);
			process.exit(1);
		}
		console.log(`${path.relative(process.cwd(), OUTPUT)} matches the schema`);
	} else {
		writeFileSync(OUTPUT, generated);
		console.log(`wrote ${path.relative(process.cwd(), OUTPUT)}`);
	}
}
