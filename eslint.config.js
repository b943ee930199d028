// Architecture rules (see docs/design-notes.md habit 10): hardware libraries stay in drivers/,
// the MQTT client stays in the sync layer, and promises are never left floating.
import tseslint from 'typescript-eslint';

const hardware = ['onoff', 'serialport', '@serialport/*'];
const mqttLibs = ['mqtt', 'aedes', 'aedes-*'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tmp/**', '.bench/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() promises are awaited by the runner itself.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      'no-restricted-imports': ['error', {
        patterns: [
          { group: hardware, message: 'only drivers/ imports onoff and serialport' },
          { group: mqttLibs, message: 'only the sync layer (agent/sync/) imports mqtt' },
        ],
      }],
    },
  },
  {
    files: ['drivers/**/*.ts', 'test/drivers/**/*.ts', 'hil-tests/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: mqttLibs, message: 'only the sync layer (agent/sync/) imports mqtt' },
      ] }],
    },
  },
  {
    files: ['agent/sync/**/*.ts', 'test/sync/**/*.ts', 'test/tls/**/*.ts', 'bench/sync*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: hardware, message: 'only drivers/ imports onoff and serialport' },
      ] }],
    },
  },
);
