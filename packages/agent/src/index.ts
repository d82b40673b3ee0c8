export { main as runDaemon } from './daemon-main';
