from services.notifications.app import create_app
from services.notifications.settings import Settings
from shared.serve import serve

serve(create_app, Settings(), name="notifications")
